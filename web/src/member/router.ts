// One page per address, without reloading: a reload would end the worker
// and the key in it. Links to member pages are followed in place.
let renderPage: () => void = () => undefined;

const MEMBER_PATHS = /^\/(?:|signup|signin|recover|inbox|settings|conversations\/[0-9a-f]{32})$/;

export function setRenderer(render: () => void): void {
  renderPage = render;
}

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  renderPage();
}

/** Follows clicks on links to member pages without a page load. */
export function interceptLinks(): void {
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const target = event.target instanceof Element ? event.target.closest('a') : null;
    if (!target || target.target || target.hasAttribute('download')) return;
    const url = new URL(target.href, location.href);
    if (url.origin !== location.origin || !MEMBER_PATHS.test(url.pathname)) return;
    event.preventDefault();
    if (url.pathname !== location.pathname) navigate(url.pathname);
  });
  window.addEventListener('popstate', () => renderPage());
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
