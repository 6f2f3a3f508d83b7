import { recordTypes, type SwarmMessage } from "../../schemas/index.js";
import {
  ConfigError,
  counter,
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  type ProcessorSpec,
  type Rec,
  SpikemeshError,
} from "../../streams/index.js";
import { expertName, type SwarmConductorOptions, swarmConductorOptionsSchema } from "./options.js";
import { nextActivations } from "./swarm-graph.js";
import { addEpisode, type Episode, emptyShortTerm, remember, type ShortTermMemory } from "./swarm-memory.js";
import { type ConductorMetrics, conductorMetrics } from "./swarm-metrics.js";
import {
  chooseAnswer,
  deepestWave,
  NO_ANSWER,
  resultRecord,
  type StopReason,
  type ThoughtState,
  type ThoughtStep,
  thoughtRecord,
} from "./thought.js";

/** Stores of the conductor: in-flight thoughts by trace id, and per source the two memories. */
export const THOUGHTS_STORE = "swarm-thoughts";
export const SHORT_TERM_STORE = "swarm-short-term";
export const EPISODIC_STORE = "swarm-episodic";

/** Outputs: `results` (ReasoningResult), `thoughts` (SwarmThought), and one per expert (SwarmMessage ACTIVATE). */
export type SwarmConductorOutputs = Record<string, unknown>;
type Ctx = ProcessorContext<SwarmConductorOutputs>;

/**
 * The swarm's conductor (the seed's global workspace). An INPUT opens a thought: wave 1 activates the
 * `entry` experts. When every expert of a wave has answered (or the wave's time is up), the answers
 * activate the experts their routes lead to (swarm-graph.ts); those at or above
 * `activationThreshold` get an ACTIVATE on `swarm.<expert>` with the answers that reached them, the
 * others are recorded as skipped. Propagation stops at `maxPropagationDepth`, when nothing passes the
 * threshold, or when no route leads on. The thought then becomes a ReasoningResult (`results`) and a
 * SwarmThought with every step (`thoughts`), and is remembered in the source's short-term memory,
 * which is consolidated into episodic memory every `consolidationInterval` thoughts. The memory
 * expert's activations carry that memory. All state is in changelogged stores.
 */
class SwarmConductor implements Processor<SwarmMessage, SwarmConductorOutputs> {
  private metrics!: ConductorMetrics;
  private inputs!: ReturnType<typeof counter<"outcome">>;
  private thoughts!: KeyValueStore<ThoughtState>;
  private shortTerm!: KeyValueStore<ShortTermMemory>;
  private episodic!: KeyValueStore<Episode[]>;
  private readonly order: string[];
  private readonly timeouts: Map<string, number>;
  private readonly memoryExpert: string | null;

  constructor(private readonly opts: SwarmConductorOptions) {
    this.order = opts.experts.map((e) => e.name);
    this.memoryExpert = opts.memory.expert ?? (this.order.includes("memory") ? "memory" : null);
    this.timeouts = new Map(opts.experts.map((e) => [e.name, e.timeoutMs]));
  }

  init(ctx: Ctx): void {
    this.metrics = conductorMetrics(ctx.metrics);
    this.inputs = counter(ctx.metrics, {
      name: "spikemesh_swarm_inputs_total",
      help: "Inputs the conductor read, by outcome: started, duplicate (a thought with that id is in flight)",
      labelNames: ["outcome"],
    });
    for (const expert of this.order) {
      for (const outcome of ["run", "skipped"]) this.metrics.activations.inc({ expert, outcome }, 0);
    }
    this.thoughts = ctx.store<ThoughtState>(THOUGHTS_STORE);
    this.shortTerm = ctx.store<ShortTermMemory>(SHORT_TERM_STORE);
    this.episodic = ctx.store<Episode[]>(EPISODIC_STORE);
    ctx.schedule(this.opts.checkIntervalMs, "wall", (nowMs) => this.checkWaves(nowMs, ctx));
  }

  process(rec: Rec<SwarmMessage>, ctx: Ctx): void {
    const msg = rec.value;
    if (msg.kind === "INPUT") this.open(rec, ctx);
    else if (msg.kind === "ANSWER") this.answer(msg, ctx);
    else {
      throw new SpikemeshError(
        "RECORD_INVALID",
        `swarm conductor (${ctx.topic}/${ctx.partition}): ${msg.kind} messages go to experts, not to the conductor's input`,
        { context: { processor: ctx.processorName, topic: ctx.topic, partition: ctx.partition } },
      );
    }
  }

  private open(rec: Rec<SwarmMessage>, ctx: Ctx): void {
    const msg = rec.value;
    if (this.thoughts.get(msg.traceId)) {
      this.inputs.inc({ outcome: "duplicate" });
      ctx.log.warn({ traceId: msg.traceId }, "swarm: input with the id of a thought in flight ignored");
      return;
    }
    this.inputs.inc({ outcome: "started" });
    const state: ThoughtState = {
      version: 1,
      traceId: msg.traceId,
      key: rec.key,
      source: msg.source,
      route: msg.route,
      inputTs: rec.timestampMs,
      startedMs: ctx.clock.nowMs(),
      spikes: msg.spikes,
      context: msg.context,
      depth: 0,
      waveDeadlineMs: 0,
      pending: [],
      steps: [],
    };
    const entry = new Map(this.order.filter((e) => this.opts.entry.includes(e)).map((e) => [e, 1]));
    this.startWave(state, entry, ctx);
  }

  private answer(msg: SwarmMessage, ctx: Ctx): void {
    const state = this.thoughts.get(msg.traceId);
    const step = state?.steps.find((s) => s.ran && s.expert === msg.expert && s.depth === msg.depth);
    if (!state || !step || (step.answered && step.error !== null)) {
      this.metrics.answers.inc({ expert: msg.expert, outcome: "late" });
      ctx.log.debug({ traceId: msg.traceId, expert: msg.expert }, "swarm: answer after its wave went on");
      return;
    }
    if (step.answered) {
      this.metrics.answers.inc({ expert: msg.expert, outcome: "duplicate" });
      return;
    }
    Object.assign(step, {
      answered: true,
      verdict: msg.verdict,
      confidence: msg.confidence,
      action: msg.action,
      summary: msg.summary,
      model: msg.model,
      latencyMs: msg.latencyMs,
      tokens: msg.tokens,
      error: msg.error,
    });
    this.metrics.answers.inc({ expert: msg.expert, outcome: msg.error === null ? "ok" : "error" });
    state.pending = state.pending.filter((e) => e !== msg.expert);
    if (state.pending.length === 0) this.advance(state, ctx);
    else this.thoughts.put(state.traceId, state);
  }

  /** Wall timer: waves whose time is up go on without the missing answers. */
  private checkWaves(nowMs: number, ctx: Ctx): void {
    const due = [...this.thoughts.entries()].filter(
      ([, s]) => s.pending.length > 0 && nowMs > s.waveDeadlineMs,
    );
    for (const [, state] of due) {
      for (const step of state.steps) {
        if (step.depth !== state.depth || !state.pending.includes(step.expert)) continue;
        step.answered = true;
        step.error = `no answer within ${this.timeouts.get(step.expert)} ms (+${this.opts.graceMs} ms grace)`;
        this.metrics.answers.inc({ expert: step.expert, outcome: "missing" });
      }
      state.pending = [];
      this.advance(state, ctx);
    }
  }

  /** The current wave is complete: activate the next one, or finish. */
  private advance(state: ThoughtState, ctx: Ctx): void {
    const max = this.opts.maxPropagationDepth;
    if (max !== undefined && state.depth >= max) {
      this.finish(state, "depth-limit", ctx);
      return;
    }
    const wave = state.steps.filter((s) => s.ran && s.depth === state.depth);
    const activations = nextActivations(
      this.opts.routes,
      wave.map((s) => ({ expert: s.expert, confidence: s.confidence, isError: s.error !== null })),
      this.order,
    );
    if (activations.size === 0) {
      const hasRoute = this.opts.routes.some((r) => wave.some((s) => s.expert === r.from));
      this.finish(state, hasRoute ? "no-activation" : "no-routes", ctx);
      return;
    }
    this.startWave(state, activations, ctx);
  }

  private startWave(state: ThoughtState, activations: Map<string, number>, ctx: Ctx): void {
    const nowMs = ctx.clock.nowMs();
    const previous = state.steps.filter((s) => s.ran && s.depth === state.depth && s.error === null);
    state.depth += 1;
    state.pending = [];
    let longestMs = 0;
    for (const [expert, activation] of activations) {
      const ran = activation >= this.opts.activationThreshold;
      state.steps.push(newStep(expert, state.depth, activation, ran));
      this.metrics.activations.inc({ expert, outcome: ran ? "run" : "skipped" });
      if (!ran) continue;
      const timeoutMs = this.timeouts.get(expert)!;
      longestMs = Math.max(longestMs, timeoutMs);
      state.pending.push(expert);
      const senders = previous.filter((s) =>
        this.opts.routes.some((r) => r.from === s.expert && r.to === expert),
      );
      ctx.forward(expert, {
        key: state.key,
        value: this.activation(state, expert, activation, senders, nowMs, timeoutMs),
        timestampMs: state.inputTs,
        headers: {},
      });
    }
    if (state.pending.length === 0) {
      this.finish(state, "no-activation", ctx);
      return;
    }
    state.waveDeadlineMs = nowMs + longestMs + this.opts.graceMs;
    this.thoughts.put(state.traceId, state);
  }

  private activation(
    state: ThoughtState,
    expert: string,
    activation: number,
    senders: ThoughtStep[],
    nowMs: number,
    timeoutMs: number,
  ): SwarmMessage {
    const swarm: Record<string, unknown> = {
      depth: state.depth,
      activation,
      ...(this.opts.maxPropagationDepth === undefined
        ? {}
        : { maxPropagationDepth: this.opts.maxPropagationDepth }),
      inputs: senders.map((s) => ({
        expert: s.expert,
        verdict: s.verdict,
        confidence: s.confidence,
        summary: s.summary,
      })),
    };
    const memory = this.opts.memory;
    if (this.memoryExpert === expert) {
      swarm.memory = {
        shortTerm: (this.shortTerm.get(state.source)?.items ?? []).slice(-memory.recall),
        episodic: (this.episodic.get(state.source) ?? []).slice(-memory.recall),
      };
    }
    return {
      traceId: state.traceId,
      kind: "ACTIVATE",
      ts: nowMs,
      source: state.source,
      route: state.route,
      expert,
      depth: state.depth,
      activation,
      spikes: state.spikes,
      context: JSON.stringify({ ...contextObject(state.context), swarm }),
      deadline: nowMs + timeoutMs,
      ...NO_ANSWER,
    };
  }

  private finish(state: ThoughtState, stop: StopReason, ctx: Ctx): void {
    const nowMs = ctx.clock.nowMs();
    const answer = chooseAnswer(state.steps, this.opts.output, this.order);
    const headers = {};
    ctx.forward("results", {
      key: state.key,
      value: resultRecord(state, this.opts.tier, stop, answer, nowMs),
      timestampMs: state.inputTs,
      headers,
    });
    ctx.forward("thoughts", {
      key: state.key,
      value: thoughtRecord(state, stop, answer, nowMs),
      timestampMs: state.inputTs,
      headers,
    });
    this.metrics.thoughts.inc({ stop });
    this.metrics.depth.observe(deepestWave(state.steps));
    this.thoughts.delete(state.traceId);
    if (answer) this.remember(state, answer);
  }

  private remember(state: ThoughtState, answer: ThoughtStep): void {
    const limits = this.opts.memory;
    const { memory, episode } = remember(
      this.shortTerm.get(state.source) ?? emptyShortTerm(),
      {
        traceId: state.traceId,
        ts: state.inputTs,
        verdict: answer.verdict,
        confidence: answer.confidence,
        summary: answer.summary,
        answeredBy: answer.expert,
      },
      limits,
    );
    this.shortTerm.put(state.source, memory);
    if (episode) {
      this.episodic.put(state.source, addEpisode(this.episodic.get(state.source) ?? [], episode, limits));
      this.metrics.consolidations.inc();
    }
  }
}

function newStep(expert: string, depth: number, activation: number, ran: boolean): ThoughtStep {
  return {
    expert,
    depth,
    activation,
    ran,
    answered: false,
    ...NO_ANSWER,
  };
}

/** The input's context as an object to extend (non-object JSON or text is kept under `input`). */
function contextObject(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text === "" ? "{}" : text);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
    return { input: parsed };
  } catch {
    return { input: text };
  }
}

/**
 * The `swarm-conductor` processor for these experts: its outputs are `results`, `thoughts` and one per
 * expert (bound to `swarm.<expert>`), so the expert names must be known when the topology is built.
 * Its options must list the same experts.
 */
export function createSwarmConductorSpec(
  experts: readonly string[],
): ProcessorSpec<SwarmMessage, SwarmConductorOutputs, SwarmConductorOptions> {
  const bad = experts.filter((e) => !expertName.safeParse(e).success);
  if (bad.length > 0) throw new ConfigError(bad.map((e) => `swarm expert "${e}": not a valid expert name`));
  const outputs: Record<string, (typeof recordTypes)[keyof typeof recordTypes]> = {
    results: recordTypes.ReasoningResult,
    thoughts: recordTypes.SwarmThought,
  };
  for (const expert of experts) outputs[expert] = recordTypes.SwarmMessage;
  return {
    name: "swarm-conductor",
    input: recordTypes.SwarmMessage,
    outputs,
    stores: [THOUGHTS_STORE, SHORT_TERM_STORE, EPISODIC_STORE],
    options: swarmConductorOptionsSchema.refine(
      (o) => o.experts.length === experts.length && o.experts.every((e, i) => e.name === experts[i]),
      {
        path: ["experts"],
        message: `must be the experts the conductor was built for (${experts.join(", ")})`,
      },
    ),
    create: (opts) => new SwarmConductor(opts),
  };
}
