// /open#k1.…: the landing page of a link from an e-mail.
//
// The fragment never reaches the server: main.ts takes it out of the
// address bar before anything else (address.ts), as bytes it can wipe, and
// keeps only an encrypted copy for this tab (see link-store.ts) so that a
// reload inside the grace window works. From then on the link lives in a
// WebAssembly `Link` (zeroed when freed), never in a string this page keeps.
//
// Loading the page changes nothing on the server, and neither does any
// click: the link is redeemed only together with the address it was sent
// to, which the guest types (or his browser fills in). Mail gateways open
// links and click every button, filling forms with junk, to look for
// malware; a wrong address is refused and uses nothing up, so such a visit
// leaves the link as it was (docs/scanners.md says what it does not stop).
import { fingerprint, Link, type Conversation } from 'latchkey-wasm-guest';
import { api, ApiError, fromB64, type GrantRef, type Peeked, type PublicMember, type RedeemedView, type RedeemRequest } from '../common/api';
import { el, field, pageForm, show, statusLine } from '../common/dom';
import { t } from '../common/i18n';
import { describe, retryBlock, waitText } from '../common/ui';
import { conversationView } from './conversation';
import { forgetLink, markOpened, storedLink } from './link-store';
import { newLinkForm } from './newlink';

/** `fromAddress`: the fragment's bytes, wiped here once parsed. */
export async function openPage(fromAddress: Uint8Array | null): Promise<void> {
  const stored = fromAddress ? null : await storedLink();
  const fragment = fromAddress ?? stored?.fragment ?? null;
  if (!fragment) {
    return deadLink(t('guest.open.incomplete'), t('guest.open.incomplete_text'));
  }
  let link: Link;
  try {
    link = Link.parseBytes(fragment);
  } catch {
    void forgetLink().catch(() => undefined);
    return deadLink(t('guest.open.damaged'), t('guest.open.damaged_text'));
  } finally {
    fragment.fill(0);
  }
  // A reload after opening: open again without asking (grace window), with
  // the address it was opened with; the server wants it every time.
  if (stored?.opened && stored.email) return reopen(link, stored.email);
  return landing(link);
}

/** Who wrote, and the address form that opens: the link is not used before. */
async function landing(link: Link): Promise<void> {
  const status = statusLine();
  show(el('h1', {}, t('guest.open.waiting')), status);
  status.textContent = t('guest.open.checking');
  let member: PublicMember;
  try {
    member = (await api.post<Peeked, GrantRef>('/grants/peek', { grant_id: link.grantId() })).member;
  } catch (e) {
    return failed(e, link);
  }
  show(
    el('h1', {}, t('guest.open.wrote', { member: member.display_name })),
    el('p', {}, t('guest.open.intro')),
    addressForm(link),
    el(
      'p',
      { class: 'hint' },
      t('guest.open.fingerprint', { member: member.display_name, fingerprint: fingerprint(fromB64(member.identity_public)) }),
    ),
  );
}

/** The one question before the link is used: the address it was sent to.
 * A wrong answer keeps the link as it was, so the form stays, with what was
 * typed, the reason under the field, and the focus in it. */
function addressForm(link: Link): HTMLFormElement {
  const email = el('input', {
    type: 'email',
    required: true,
    autocomplete: 'email',
    autocapitalize: 'none',
    spellcheck: 'false',
    maxlength: '254',
  });
  // No `name`: the address leaves the page only through the handler below
  // (see pageForm for the submission that skips it).
  const wrapper = field(t('guest.field.email'), email, t('guest.open.email_hint'));
  const problem = el('p', { class: 'field-problem', id: 'address-problem', role: 'alert' });
  email.setAttribute('aria-describedby', `${email.getAttribute('aria-describedby') ?? ''} ${problem.id}`.trim());
  const open = el('button', { type: 'submit', class: 'primary' }, t('guest.open.submit'));
  const form = pageForm(
    { class: 'open-link', 'aria-label': t('guest.open.form'), novalidate: true },
    wrapper,
    problem,
    open,
  );
  const refuse = (text: string): void => {
    email.setAttribute('aria-invalid', 'true');
    problem.textContent = text;
    email.focus();
  };
  const wrongAddress = (): void => refuse(t('guest.open.wrong_address'));
  // Wrong tries are counted per link, and a few lock it for a while: an
  // address already refused is not sent again (a second press of Enter, or
  // a program submitting the form over and over, costs nothing).
  const refused = new Set<string>();
  let busy = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (busy) return;
    const address = email.value.trim();
    if (!address) return refuse(t('guest.open.no_address'));
    if (email.validity.typeMismatch || !address.includes('@')) {
      return refuse(t('guest.open.not_address'));
    }
    if (refused.has(address.toLowerCase())) return wrongAddress();
    busy = true;
    open.disabled = true;
    open.textContent = t('guest.open.opening');
    email.removeAttribute('aria-invalid');
    problem.textContent = '';
    redeem(link, address)
      .catch((e: unknown) => {
        if (e instanceof ApiError && e.code === 'wrong_address') {
          refused.add(address.toLowerCase());
          return wrongAddress();
        }
        if (e instanceof ApiError && e.code === 'rate_limited') {
          return refuse(t('guest.open.too_many', { wait: waitText(e.retryAfterSecs) }));
        }
        if (e instanceof ApiError && (DEAD.includes(e.code) || e.code === 'member_disabled')) return failed(e, link);
        // Not reached, or the server failed: the address stays typed, and
        // pressing the button again is the retry.
        refuse(describe(e));
      })
      .finally(() => {
        busy = false;
        open.disabled = false;
        open.textContent = t('guest.open.submit');
      });
  });
  return form;
}

/** Redeems with `email`; throws the server's refusal as it came. */
async function redeem(link: Link, email: string): Promise<void> {
  const redeemed = await api.post<RedeemedView, RedeemRequest>('/grants/redeem', { grant_id: link.grantId(), email });
  let key: Conversation;
  try {
    key = link.open(redeemed.conversation_id, fromB64(redeemed.wrapped_key));
  } catch (e) {
    return failed(e, link);
  }
  // The conversation key is all this page needs now: the link's key is
  // zeroed, and only the encrypted copies stay, for reloads.
  link.free();
  await markOpened(email);
  await conversationView(redeemed.conversation_id, key, redeemed.member);
}

/** A reload in the grace window: no question, unless the answer changed. */
async function reopen(link: Link, email: string): Promise<void> {
  const status = statusLine();
  show(el('h1', {}, t('guest.open.reopening')), status);
  status.textContent = t('guest.open.opening');
  try {
    await redeem(link, email);
  } catch (e) {
    if (e instanceof ApiError && e.code === 'wrong_address') return landing(link);
    failed(e, link);
  }
}

const DEAD = ['link_used', 'link_expired', 'unknown_link'];

/** A dead link is freed and forgotten; any other failure offers a retry. */
function failed(e: unknown, link: Link): void {
  const dead = e instanceof ApiError && DEAD.includes(e.code);
  if (dead) {
    link.free();
    void forgetLink().catch(() => undefined);
  }
  if (e instanceof ApiError && e.code === 'link_used') {
    return deadLink(t('guest.open.used'), t('guest.open.used_text'));
  }
  if (e instanceof ApiError && e.code === 'link_expired') {
    return deadLink(t('guest.open.expired'), t('guest.open.expired_text'));
  }
  if (e instanceof ApiError && e.code === 'unknown_link') {
    return deadLink(t('guest.open.unknown'), t('guest.open.unknown_text'));
  }
  // Not dead: the link is kept (not freed, not forgotten) and works again
  // once the site re-enables the member.
  if (e instanceof ApiError && e.code === 'member_disabled') {
    show(el('h1', {}, t('guest.open.member_disabled')), el('p', {}, t('guest.open.member_disabled_text')));
    return;
  }
  show(el('h1', {}, t('guest.open.failed')), retryBlock(e, () => void landing(link)));
}

function deadLink(title: string, explanation: string): void {
  show(el('h1', {}, title), el('p', {}, explanation), newLinkForm());
}
