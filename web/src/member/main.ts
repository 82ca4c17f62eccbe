// The member's pages: one shell (member.html) for every address in
// web/routes.json. This script never loads the WebAssembly bundle and
// never holds a key: the Web Worker does (worker/). Moving between pages
// happens in place, so the worker and the unlocked key live as long as the
// tab; a reload asks for the password.
import { el, show } from '../common/dom';
import { reloadTexts, showLanguages, t } from '../common/i18n';
import { endWorker, rpc } from './client';
import { recoverPage, signInPage, signUpPage, unlockPage } from './pages/auth';
import { conversationPage } from './pages/conversation';
import { enrollPage } from './pages/enroll';
import { homePage, notFoundPage, signedOutPage } from './pages/home';
import { inboxPage } from './pages/inbox';
import { settingsPage } from './pages/settings';
import { interceptLinks, matchRoute, navigate, redrawHere, renderHere, setAfterSignIn, setRenderer, type MemberRoute, type RouteMatch } from './router';
import { hideNav, keyStatus, rememberedHandle, serverMember, signOut, updateNav } from './session';
import { retryBlock } from './ui';

const FULFIL_EVERY_MS = 60_000;
const CONVERSATION_ID = /^[0-9a-f]{32}$/;

/** Runs `page` with the key unlocked: else the Unlock screen (session alive) or sign-in. */
async function withKey(page: (handle: string) => Promise<void> | void): Promise<void> {
  const status = await keyStatus();
  // The session cookie is shared by every tab: another tab may have signed
  // out, or in as someone else. The key in this tab's worker is only good
  // for the member the server now knows. (Offline: trust the worker.)
  const member = await serverMember().catch(() => undefined);
  if (status.unlocked && status.handle && (member === undefined || member?.handle === status.handle)) {
    updateNav(true);
    return page(status.handle);
  }
  if (status.unlocked) endWorker();
  updateNav(false);
  // Locked and the server was out of reach: ask again, letting the error
  // through this time (the caller shows it with a retry).
  const known = member === undefined ? await serverMember() : member;
  if (!known) {
    setAfterSignIn(location.pathname);
    return navigate('/signin', true);
  }
  hideNav();
  const handle = known.handle || rememberedHandle() || '';
  const here = location.pathname;
  unlockPage(handle, known.sealed_identity !== undefined, () => {
    // Still the page that asked for the key: show it now.
    if (location.pathname === here) renderHere();
    else navigate(here);
  });
}

/** A page anyone may see; the header shows what the key allows. */
async function open(page: (unlocked: boolean) => Promise<void> | void): Promise<void> {
  const unlocked = (await keyStatus()).unlocked;
  updateNav(unlocked);
  return page(unlocked);
}

/** Every address of web/routes.json has its page here; tsc refuses a missing or an unknown one. */
const PAGES: { [R in MemberRoute]: (params: RouteMatch['params']) => Promise<void> } = {
  '/': () => open(async (unlocked) => homePage(unlocked || (await serverMember().catch(() => null)) !== null)),
  '/signup': () => open(signUpPage),
  '/signin': () => open(signInPage),
  '/recover': () => open(recoverPage),
  '/enroll': () => open(enrollPage),
  '/inbox': () => withKey((handle) => inboxPage(handle)),
  '/conversations/{id}': ({ id }) =>
    id !== undefined && CONVERSATION_ID.test(id) ? withKey(() => conversationPage(id)) : open(notFoundPage),
  '/settings': () => withKey(() => settingsPage()),
};

let rendering = 0;

async function render(): Promise<void> {
  const turn = ++rendering;
  try {
    const match = matchRoute(location.pathname);
    await (match ? PAGES[match.route](match.params) : open(notFoundPage));
  } catch (e) {
    if (turn !== rendering) return;
    show(el('h1', {}, t('member.load_failed')), retryBlock(e, () => void render()));
  }
}

/**
 * Another language, in place: a reload would end the worker and lock the
 * key. The screen is drawn again in the new language (a half-filled form
 * starts empty); if the texts cannot be fetched, the page reloads.
 */
function switchLanguage(): void {
  reloadTexts().then(
    () => {
      showLanguages(switchLanguage);
      // The header, where it shows (screens that hide it draw none).
      if (document.getElementById('nav')?.childElementCount) void keyStatus().then((s) => updateNav(s.unlocked));
      redrawHere();
    },
    () => location.reload(),
  );
}

function main(): void {
  showLanguages(switchLanguage);
  setRenderer(() => void render());
  interceptLinks();
  document.addEventListener('latchkey:signout', () => {
    void signOut().then((ended) => {
      updateNav(false);
      signedOutPage(ended);
    });
  });
  // Guests who ask for a new link get it while the member is signed in.
  setInterval(() => {
    void keyStatus()
      .then((s) => (s.unlocked ? rpc('fulfilAll', null) : 0))
      .catch(() => undefined);
  }, FULFIL_EVERY_MS);
  renderHere();
}

main();
