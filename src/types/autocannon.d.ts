// autocannon 9 ships no types: the part of its API that framewatch loadtest and the benchmarks use.
declare module 'autocannon' {
  interface Histogram { average: number; p50: number; p90: number; p99: number; max: number }
  interface Result { requests: Histogram & { total: number; sent: number }; latency: Histogram; errors: number; timeouts: number; non2xx: number; statusCodeStats: Record<string, { count: number }>; duration: number }
  interface Options { url: string; method?: string; body?: Buffer | string; headers?: Record<string, string>; connections?: number; duration?: number; amount?: number; timeout?: number; overallRate?: number }
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}
