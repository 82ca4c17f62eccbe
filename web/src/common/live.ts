// Live events of this session (GET /api/v1/events, Server-Sent Events):
// metadata only; the page fetches and decrypts what changed through its
// usual calls. EventSource reconnects by itself (sending Last-Event-ID)
// and stops for good on an answer other than 200 (the session ended).
// One stream per tab: a page that re-renders keeps it and only swaps the
// handler. It closes once `page` (an element of the page that asked) has
// left the document, so that a signed-out page does not reconnect, and
// when the handler returns false.
export interface LiveData {
  conversation?: string;
  sender?: string;
}

type Handler = (type: string, data: LiveData) => boolean | void;

let source: EventSource | undefined;
let handler: Handler = () => undefined;
let page: Element | undefined;

function close(): void {
  source?.close();
  source = undefined;
}

export function live(on: Element, types: string[], onEvent: Handler): void {
  handler = onEvent;
  page = on;
  if (source) return;
  source = new EventSource('/api/v1/events');
  // Before each reconnect: not for a page that is gone.
  source.onerror = () => {
    if (!page?.isConnected) close();
  };
  const handle = (e: MessageEvent<string>): void => {
    if (!page?.isConnected) return close();
    let data: LiveData = {};
    try {
      data = JSON.parse(e.data) as LiveData;
    } catch {
      // Always JSON; a stray line changes nothing.
    }
    if (handler(e.type, data) === false) close();
  };
  for (const type of types) source.addEventListener(type, handle);
}
