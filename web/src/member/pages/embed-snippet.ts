// The settings page's section for the contact form on the site's own
// pages: the <iframe> code for /embed/m/HANDLE and the size it needs. Shown
// only while the server lets sites frame the form (the member view's
// `embed_origins`, the server's `embed.allowed_origins`). Why each of the
// frame's attributes: docs/embed.md.
import { el } from '../../common/dom';
import { t } from '../../common/i18n';
import type { MemberView } from '../rpc';
import { copyField } from '../ui';

/** The frame's height in CSS pixels: what the form needs where it is
 * tallest, on a 320 px screen in German (the longer texts; 914 px there,
 * about 690 on a desktop), its status line under the button included.
 * web/tests/embed.test.mjs measures it from 320 px to desktop width. */
export const FRAME_HEIGHT = 920;

/** What the frame allows, and nothing more (docs/embed.md says why). */
const SANDBOX = 'allow-scripts allow-forms allow-same-origin allow-popups allow-popups-to-escape-sandbox';

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The HTML a site's page carries to show the member's form. */
export function embedSnippet(handle: string, name: string): string {
  const src = `${location.origin}/embed/m/${handle}`;
  const title = t('member.settings.snippet_text', { name });
  return (
    `<iframe src="${escapeHtml(src)}" title="${escapeHtml(title)}" width="100%" height="${FRAME_HEIGHT}" ` +
    `style="border:0" sandbox="${SANDBOX}" referrerpolicy="no-referrer" loading="lazy"></iframe>`
  );
}

/** The section, or null while no site may frame the form. */
export function embedSection(member: MemberView): HTMLElement | null {
  const origins = member.embed_origins;
  if (origins.length === 0) return null;
  return el(
    'section',
    { 'aria-labelledby': 'h-embed' },
    el('h2', { id: 'h-embed' }, t('member.embed.heading')),
    el('p', {}, t('member.embed.text', { origins: origins.join(', ') })),
    copyField(t('member.embed.snippet'), embedSnippet(member.handle, member.display_name), {
      multiline: true,
      id: 'embed-snippet',
      copyLabel: t('member.embed.copy'),
    }),
    el('p', { class: 'hint' }, t('member.embed.size', { height: FRAME_HEIGHT })),
  );
}
