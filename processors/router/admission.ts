/**
 * Per-source admission: one open request per incident (dedupe) and a token-bucket rate limit,
 * both on event time so replays admit the same requests. A JSON value in the "sources" store.
 */
export interface SourceAdmission {
  /** The request that opened the current incident; null when none is open. */
  incident: { requestId: string; tier: string; openedMs: number } | null;
  tokens: number;
  refilledMs: number;
}

export interface AdmissionLimits {
  /** After an incident opens, no new request for its sources until this much event time passed. */
  incidentCooldownMs: number;
  /** Sustained requests per source per minute of event time. */
  ratePerMinute: number;
  /** Requests a source may make in a burst. */
  burst: number;
}

export function freshAdmission(limits: AdmissionLimits, nowMs: number): SourceAdmission {
  return { incident: null, tokens: limits.burst, refilledMs: nowMs };
}

/** True while the source's incident is open: less than `incidentCooldownMs` since it opened. */
export function isIncidentOpen(
  state: SourceAdmission | undefined,
  nowMs: number,
  limits: AdmissionLimits,
): boolean {
  if (!state?.incident) return false;
  return nowMs - state.incident.openedMs < limits.incidentCooldownMs;
}

/** Tokens refilled up to `nowMs` (never refilled backwards when event time goes back). */
export function refill(state: SourceAdmission, nowMs: number, limits: AdmissionLimits): SourceAdmission {
  if (nowMs <= state.refilledMs) return state;
  const gained = ((nowMs - state.refilledMs) * limits.ratePerMinute) / 60_000;
  return { ...state, tokens: Math.min(limits.burst, state.tokens + gained), refilledMs: nowMs };
}

/** Whether a request may be made now; the caller then records it with {@link admit}. */
export function hasToken(state: SourceAdmission): boolean {
  return state.tokens >= 1;
}

/** Spends a token (lead source only) and opens the incident. */
export function admit(
  state: SourceAdmission,
  incident: NonNullable<SourceAdmission["incident"]>,
  spendToken: boolean,
): SourceAdmission {
  return { ...state, incident, tokens: spendToken ? state.tokens - 1 : state.tokens };
}
