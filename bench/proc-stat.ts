import { readFileSync } from 'node:fs';

/** A process's CPU time so far (utime + stime, in 1/100 s: ticks per second = % of a core) and its resident memory. */
export function procStat(pid: number): { cpuTicks: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuTicks = Number(fields[11]) + Number(fields[12]); // utime + stime, in 1/100 s
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuTicks, rssMb: Number(rss?.[1] ?? 0) / 1024 };
}
