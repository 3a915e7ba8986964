import { compareDna } from './dnaDeviation';
import type { QuarantineRecord, RedzoneAnalysis } from './redzoneRecord';

function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** What a stay shows: DNA deviation from its baseline, refused calls, fired rules, the anomaly. */
export function analyse(record: QuarantineRecord, now: number): RedzoneAnalysis {
  const comparison = record.baseline ? compareDna(record.dna, record.baseline) : undefined;
  const total = record.dna.totalCalls;
  const deniedRatio = total > 0 ? record.dna.deniedCalls / total : 0;
  const deviations = comparison?.shifts.slice(0, 10) ?? [];
  const contributions = record.anomaly?.contributions
    ? Object.entries(record.anomaly.contributions).map(([source, value]) => ({ source, value }))
    : [
        ...deviations.map((s) => ({ source: `syscall ${s.syscall}`, value: s.contribution })),
        ...(comparison && deniedRatio > comparison.baselineDeniedRatio
          ? [{ source: 'refused calls', value: deniedRatio - comparison.baselineDeniedRatio }]
          : []),
      ];
  contributions.sort((a, b) => b.value - a.value);
  const summary: string[] = [`quarantined: ${record.reason}`];
  if (comparison) {
    summary.push(
      `behaviour deviates ${percent(comparison.deviation)} from the baseline (total variation distance)`,
    );
    for (const shift of deviations.slice(0, 3)) {
      summary.push(
        `${shift.syscall}: ${percent(shift.observed)} of calls, baseline ${percent(shift.baseline)}`,
      );
    }
    if (comparison.newSyscalls.length > 0)
      summary.push(`never seen in the baseline: ${comparison.newSyscalls.join(', ')}`);
  } else {
    const top = Object.entries(record.dna.syscallCounts)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([name, count]) => `${name} x${count}`);
    summary.push(`no baseline to compare with; most frequent calls: ${top.join(', ') || 'none'}`);
  }
  summary.push(`${record.dna.deniedCalls} of ${total} calls were refused (${percent(deniedRatio)})`);
  if (record.firedRules.length > 0) summary.push(`rules that fired: ${record.firedRules.join(', ')}`);
  if (record.anomaly) summary.push(`anomaly score ${record.anomaly.score.toFixed(3)}`);
  return {
    analyzedAt: now,
    deviation: comparison?.deviation ?? 0,
    deviations,
    newSyscalls: comparison?.newSyscalls ?? [],
    deniedRatio,
    baselineDeniedRatio: comparison?.baselineDeniedRatio ?? 0,
    firedRules: record.firedRules,
    anomalyContributions: contributions,
    summary,
  };
}
