/**
 * The eight expert roles of the swarm (seed 001), with the role text an expert sends its backend
 * (in the request context's `swarm.role`). Other expert names are allowed; they need a `role`.
 */
export const EXPERT_ROLES = {
  perception: "Analyze and interpret the raw input: extract patterns, salient features and anomalies.",
  attention: "Filter and prioritize: score relevance and decide what deserves focus.",
  memory: "Store, retrieve and contextualize: relate the case to recent and episodic memory.",
  reasoning: "Apply logical, causal and evidence-based analysis; reach reasoned conclusions.",
  creative: "Generate novel perspectives and alternative explanations; think laterally.",
  analytical: "Quantify: estimate probabilities and uncertainty, weigh criteria.",
  synthesis: "Integrate the other experts' answers into one coherent verdict.",
  "meta-cognitive": "Critique the process: detect errors, estimate confidence, say what to refine.",
} as const;

export type ExpertRole = keyof typeof EXPERT_ROLES;

/** The role text of a built-in expert, or undefined for other names. */
export function builtInRole(expert: string): string | undefined {
  return Object.hasOwn(EXPERT_ROLES, expert) ? EXPERT_ROLES[expert as ExpertRole] : undefined;
}
