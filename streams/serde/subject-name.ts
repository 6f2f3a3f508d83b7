/**
 * Subject names under Confluent's TopicNameStrategy: the value schema of topic `t` is registered
 * under `t-value`, the key schema under `t-key`.
 */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

/** Key subject of `topic` under TopicNameStrategy (spikemesh keys are plain strings, rarely needed). */
export function keySubject(topic: string): string {
  return `${topic}-key`;
}
