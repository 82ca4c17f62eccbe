// Where a link page finds its link, and how it gets it out of the address
// bar before the page sends any request.
//
// A link from an e-mail is `/open#k1.<43 characters>` (crates/core/src/link.rs),
// but not every link arrives like that:
// - mail programs glue characters to its end: `>`, `.`, `)`, `]`, quotes, and
//   the browser percent-encodes some of them in the fragment (`%3E`, `%22`);
// - a mail gateway that rewrites links (Microsoft Safe Links, for one) can
//   deliver it with the `#` percent-encoded, once or twice: the browser then
//   asks the server for `/open%23k1.…` or `/open%2523k1.…`, which answers with
//   this same page.
// Every form ends as the fragment's 46 bytes and a clean `/open` in the
// address bar. The key is known by its length, so what follows it is cut
// off; anything that is not a whole key goes to the parser as it is, which
// says what is wrong with it.
//
// The strings the browser hands over (`location.hash`, `location.pathname`)
// cannot be wiped; no reference to them is kept, and the link lives on only
// in bytes that are wiped once parsed.

/** `k1.` and the key's 43 base64url characters. */
const LINK_LENGTH = 46;
const PREFIX = [0x6b, 0x31, 0x2e]; // "k1."
/** The link page's address with its `#` percent-encoded once or twice. */
const REWRITTEN = /^\/open(%23|%2523)/i;

function isKeyCharacter(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    byte === 0x2d || // -
    byte === 0x5f // _
  );
}

/** A whole key at the start of `text`, followed by nothing or by a
 * character no key has. */
function startsWithWholeKey(text: Uint8Array): boolean {
  if (text.length < LINK_LENGTH) return false;
  for (let i = 0; i < PREFIX.length; i++) if (text[i] !== PREFIX[i]) return false;
  for (let i = PREFIX.length; i < LINK_LENGTH; i++) if (!isKeyCharacter(text[i]!)) return false;
  return text.length === LINK_LENGTH || !isKeyCharacter(text[LINK_LENGTH]!);
}

/** On the link page, in any of its forms: takes the link out of the address
 * (leaving `/open`) and returns it as bytes (`k1.…`, without `#`) that the
 * caller wipes. Null when there is no link in the address (then the page may
 * still have one kept for a reload), and on every other page, whose address
 * it leaves alone. */
export function takeLinkFromAddress(): Uint8Array | null {
  const rewritten = REWRITTEN.exec(location.pathname);
  if (location.pathname !== '/open' && !rewritten) return null;
  // The part that holds the link: after the `#`, or after its encoding.
  const source = rewritten ? location.pathname.slice(rewritten[0].length) : location.hash.slice(1);
  history.replaceState(null, '', '/open');
  const bytes = new TextEncoder().encode(source);
  try {
    if (bytes.length === 0) return null;
    return startsWithWholeKey(bytes) ? bytes.slice(0, LINK_LENGTH) : bytes.slice();
  } finally {
    bytes.fill(0);
  }
}
