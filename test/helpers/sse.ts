/** One server-sent event: its name and its data parsed as JSON. */
export interface SseEvent {
  event: string;
  data: unknown;
}

/**
 * Reads a server-sent-event stream until the server ends it or `until` holds, and returns the
 * events; fails after `ms` naming what it had.
 */
export async function readSse(
  url: string,
  headers: Record<string, string>,
  ms: number,
  until: (events: SseEvent[]) => boolean = () => false,
): Promise<SseEvent[]> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  const events: SseEvent[] = [];
  try {
    const res = await fetch(url, { headers, signal: abort.signal });
    if (res.status !== 200 || !res.body)
      throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
    if (!res.headers.get("content-type")?.startsWith("text/event-stream")) {
      throw new Error(`${url} is not an event stream: ${res.headers.get("content-type")}`);
    }
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf("\n\n");
        const lines = block.split("\n");
        const name = lines.find((l) => l.startsWith("event: "))?.slice(7);
        const data = lines.find((l) => l.startsWith("data: "))?.slice(6);
        if (name !== undefined && data !== undefined) events.push({ event: name, data: JSON.parse(data) });
      }
      if (until(events)) break;
    }
    return events;
  } catch (err) {
    if (abort.signal.aborted) {
      throw new Error(`timed out after ${ms} ms reading ${url}; events so far: ${JSON.stringify(events)}`);
    }
    throw err;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}
