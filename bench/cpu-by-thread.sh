#!/usr/bin/env bash
# Where the CPU goes during one video request: CPU time of every thread of the server
# process (main thread = the PID itself; the inference worker and ONNX Runtime's pool thread
# are the two largest others; libuv pool threads run sharp) and of its ffmpeg children.
# Usage, after `npm run build`: [QUERY=fps=2&sampling=exact] bash bench/cpu-by-thread.sh [video] [model]
# Default video: the 60 s bench clip (generated once into $TMPDIR as npm run bench does).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${2:-object-detector}
query=${QUERY:-}
video=${1:-${TMPDIR:-/tmp}/framewatch-sixty.mp4}
ffmpeg=$(node -e "console.log(require('@ffmpeg-installer/ffmpeg').path)")
if [ ! -f "$video" ]; then
  fit='scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2,setsar=1'
  "$ffmpeg" -hide_banner -loglevel error -y \
    -loop 1 -t 15 -i test/fixtures/fruits.jpg -loop 1 -t 15 -i test/fixtures/messi5.jpg \
    -loop 1 -t 15 -i test/fixtures/home.jpg -loop 1 -t 15 -i test/fixtures/basketball1.png \
    -filter_complex "[0]$fit,fps=25[v0];[1]$fit,fps=25[v1];[2]$fit,fps=25[v2];[3]$fit,fps=25[v3];[v0][v1][v2][v3]concat=n=4:v=1:a=0" \
    -c:v libx264 -pix_fmt yuv420p "$video"
fi
data=$(mktemp -d)
port=${PORT:-8191}
MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} FRAMEWATCH_PORT=$port FRAMEWATCH_HOST=127.0.0.1 FRAMEWATCH_LOG_LEVEL=error FRAMEWATCH_DATA_DIR=$data node dist/src/cli/main.js serve &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$data"' EXIT
until curl -sf "localhost:$port/readyz" >/dev/null; do sleep 0.3; done
ticks() { for t in /proc/$pid/task/*; do echo "$(basename "$t") $(tr ' ' _ < "$t/comm") $(awk '{print $14+$15}' "$t/stat")"; done | sort; }
before=$(ticks)
children_before=$(awk '{print $16+$17}' /proc/$pid/stat)
start=$(date +%s.%N)
frames=$(curl -sf -F "file=@$video" "localhost:$port/v1/models/$model/predict?frames=false&mode=sync&$query" | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.parse(s).video.framesSampled))")
end=$(date +%s.%N)
after=$(ticks)
hz=$(getconf CLK_TCK)
echo "frames $frames, wall $(echo "$end - $start" | bc) s"
echo "ffmpeg children: $(( ($(awk '{print $16+$17}' /proc/$pid/stat) - children_before) * 1000 / hz )) ms"
join <(echo "$before") <(echo "$after") | awk -v pid="$pid" -v hz="$hz" '
  { ms = ($5 - $3) * 1000 / hz; total += ms; if (ms > 0) printf "%6d ms  thread %s %s%s\n", ms, $1, $2, ($1 == pid ? " (main)" : "") }
  END { printf "%6d ms  server process total\n", total }' | sort -n -r
