// Where the tab keeps its link between reloads: sessionStorage (this tab
// only, never sent anywhere), with an end time, so that it is not kept
// longer than a reload can use it. Only the guest's own keys are touched.

const LINK = 'latchkey.guest.link';
/** A link that was only looked at is kept an hour; one that was opened, as
 * long as the server's grace window lets a reload reopen it (10 minutes by
 * default). */
const UNOPENED_MS = 60 * 60 * 1000;
const OPENED_MS = 10 * 60 * 1000;

interface Stored {
  fragment: string;
  opened: boolean;
  until: number;
}

export function rememberLink(fragment: string, opened: boolean): void {
  const entry: Stored = { fragment, opened, until: Date.now() + (opened ? OPENED_MS : UNOPENED_MS) };
  sessionStorage.setItem(LINK, JSON.stringify(entry));
}

export function storedLink(): Stored | null {
  try {
    const entry = JSON.parse(sessionStorage.getItem(LINK) ?? 'null') as Stored | null;
    if (entry && typeof entry.fragment === 'string' && entry.until > Date.now()) return entry;
  } catch {
    /* ignore a damaged entry */
  }
  forgetLink();
  return null;
}

export function forgetLink(): void {
  sessionStorage.removeItem(LINK);
}
