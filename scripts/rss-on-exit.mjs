// Loaded with `node --import` by `npm run bench` around the CLI: writes the process's peak RSS
// (KB) to $BENCH_RSS_FILE at exit, so the bench needs no external `time` tool.
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  if (process.env.BENCH_RSS_FILE) writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS));
});
