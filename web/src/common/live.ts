// Live events of this session (GET /api/v1/events, Server-Sent Events):
// metadata only; the page fetches and decrypts what changed through its
// usual calls. EventSource reconnects by itself (sending Last-Event-ID)
// and stops for good on an answer other than 200 (the session ended).
// One stream per tab: a page that re-renders keeps it and only swaps the
// handler; a handler returning false (its page is gone) closes it.
export interface LiveData {
  conversation?: string;
  sender?: string;
}

type Handler = (type: string, data: LiveData) => boolean | void;

let source: EventSource | undefined;
let handler: Handler = () => undefined;

export function live(types: string[], onEvent: Handler): void {
  handler = onEvent;
  if (source) return;
  const opened = (source = new EventSource('/api/v1/events'));
  const handle = (e: MessageEvent<string>): void => {
    let data: LiveData = {};
    try {
      data = JSON.parse(e.data) as LiveData;
    } catch {
      // Always JSON; a stray line changes nothing.
    }
    if (handler(e.type, data) === false) {
      opened.close();
      source = undefined;
    }
  };
  for (const type of types) opened.addEventListener(type, handle);
}
