// One page per address, without reloading: a reload would end the worker
// and the key in it. Links to member pages are followed in place.
//
// The addresses come from web/routes.json, the file the server registers
// its member pages from: the two cannot disagree about which addresses are
// member pages. (A test could only check that they agree after the fact;
// one file makes a disagreement impossible to build.)
import table from '../../routes.json';

export type MemberRoute = keyof typeof table.member;

export interface RouteMatch {
  route: MemberRoute;
  /** The values of the pattern's {name} segments. */
  params: Readonly<Partial<Record<string, string>>>;
}

const COMPILED = (Object.keys(table.member) as MemberRoute[]).map((route) => {
  const names: string[] = [];
  const source = route
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment)?.[1];
      if (param === undefined) return segment.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
      names.push(param);
      return '([^/]+)';
    })
    .join('/');
  return { route, names, pattern: new RegExp(`^${source}$`) };
});

/** The member page at `pathname`, or null if it is no member page. */
export function matchRoute(pathname: string): RouteMatch | null {
  for (const { route, names, pattern } of COMPILED) {
    const found = pattern.exec(pathname);
    if (!found) continue;
    const params: Record<string, string> = {};
    try {
      names.forEach((name, i) => {
        params[name] = decodeURIComponent(found[i + 1] ?? '');
      });
    } catch {
      return null; // a malformed %-escape
    }
    return { route, params };
  }
  return null;
}

let renderPage: () => void = () => undefined;

/**
 * The address whose page is on screen, or null while a screen that
 * belongs to no address is (signed out, the recovery key after sign-up).
 * A click on a link to the current address is ignored only when that
 * address's page is what the member sees; otherwise the link must work.
 */
let shown: string | null = null;

export function setRenderer(render: () => void): void {
  renderPage = render;
}

/** How the screen now shown draws itself again, if it belongs to no address. */
let redrawScreen: (() => void) | null = null;

/** Shows the page of the current address. */
export function renderHere(): void {
  shown = location.pathname;
  redrawScreen = null;
  renderPage();
}

/** The screen now shown belongs to no address (see `shown`); `redraw`
 * shows it again (in another language), with what it shows now. */
export function leftRoute(redraw: () => void): void {
  shown = null;
  redrawScreen = redraw;
}

/** Draws what is on screen again: a screen that belongs to no address
 * (the recovery key, shown once) must not give way to its address's page. */
export function redrawHere(): void {
  if (shown === null && redrawScreen) redrawScreen();
  else renderHere();
}

export function navigate(path: string, replace = false): void {
  // The same address again replaces its history entry instead of adding one.
  if (replace || path === location.pathname) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  renderHere();
}

/** Follows clicks on links to member pages without a page load. */
export function interceptLinks(): void {
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const target = event.target instanceof Element ? event.target.closest('a') : null;
    if (!target || target.target || target.hasAttribute('download')) return;
    const url = new URL(target.href, location.href);
    if (url.origin !== location.origin || !matchRoute(url.pathname)) return;
    event.preventDefault();
    if (url.pathname === location.pathname && shown === url.pathname) return;
    navigate(url.pathname);
  });
  window.addEventListener('popstate', () => renderHere());
}

/** Where to go after signing in or unlocking. */
let after = '/inbox';
export function setAfterSignIn(path: string): void {
  after = path;
}
export function afterSignIn(): string {
  const path = after;
  after = '/inbox';
  return path;
}
