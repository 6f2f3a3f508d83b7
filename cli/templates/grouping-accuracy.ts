/** Grouping accuracy of a log parse against labels (Zhu et al., "Tools and Benchmarks for Automated Log Parsing", ICSE-SEIP 2019). */
export interface GroupingReport {
  /** Share of lines whose predicted group holds exactly the lines of their true group. */
  accuracy: number;
  lines: number;
  correctLines: number;
  trueGroups: number;
  predictedGroups: number;
}

/**
 * Loghub's grouping accuracy: a line counts as parsed correctly when the set of lines sharing its
 * predicted template equals the set of lines sharing its true label. `predicted[i]` and `truth[i]`
 * belong to the same line.
 */
export function groupingAccuracy(
  predicted: ArrayLike<number | string>,
  truth: ArrayLike<number | string>,
): GroupingReport {
  if (predicted.length !== truth.length) {
    throw new RangeError(`groupingAccuracy: ${predicted.length} predictions for ${truth.length} labels`);
  }
  const byPredicted = new Map<number | string, number[]>();
  const trueSize = new Map<number | string, number>();
  for (let i = 0; i < predicted.length; i++) {
    const p = predicted[i]!;
    const list = byPredicted.get(p);
    if (list) list.push(i);
    else byPredicted.set(p, [i]);
    trueSize.set(truth[i]!, (trueSize.get(truth[i]!) ?? 0) + 1);
  }
  let correct = 0;
  for (const members of byPredicted.values()) {
    const label = truth[members[0]!]!;
    const isPure = members.every((i) => truth[i] === label);
    if (isPure && trueSize.get(label) === members.length) correct += members.length;
  }
  const lines = predicted.length;
  return {
    accuracy: lines === 0 ? 1 : correct / lines,
    lines,
    correctLines: correct,
    trueGroups: trueSize.size,
    predictedGroups: byPredicted.size,
  };
}
