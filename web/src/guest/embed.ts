// /embed/m/HANDLE: the contact form inside a frame on the site's own pages
// (the server lets only the origins in `embed.allowed_origins` frame it;
// docs/embed.md). A frame in another site changes a few things:
// - No language switcher: its cookie (SameSite=Lax) is not sent to a frame
//   inside another site, so a switch would not stick. The page follows the
//   browser's languages, as the e-mails to the guest do.
// - Every link opens a window of its own (<base target="_blank">): nothing
//   navigates the frame, or the site's page around it, away.
// - The focus stays put when the page loads: moving it to the heading would
//   scroll the site's page to the frame. It moves once the guest has sent.
// - Nothing needs a cookie: the first message carries none, and the link in
//   the guest's mail opens the conversation in his browser, not here.
import { el } from '../common/dom';
import { t } from '../common/i18n';

type Child = Node | string | null | undefined | false;

/** Whether this page is the framed form. */
export function embedded(): boolean {
  return location.pathname.startsWith('/embed/');
}

/** The compact layout (style.css, `.embed`) and new windows for links. */
export function prepareFrame(): void {
  document.documentElement.classList.add('embed');
  const base = document.createElement('base');
  base.target = '_blank';
  document.head.append(base);
}

/** Replaces the page's content like show(), but leaves the focus where it is. */
export function showQuietly(...children: Child[]): void {
  const main = document.getElementById('app');
  if (!main) return;
  main.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
}

/** Under the framed form: the same form in a window of its own, where the
 * address bar shows whom the guest writes through. */
export function ownWindowLink(handle: string): HTMLParagraphElement {
  return el(
    'p',
    { class: 'hint' },
    el('a', { href: `/m/${handle}`, target: '_blank', rel: 'noopener' }, t('guest.embed.own_window')),
  );
}
