// Building the page. Everything a person wrote goes in as text
// (textContent), never as markup: a message can hold no live HTML.

type Attrs = Record<string, string | boolean | undefined>;
type Child = Node | string | null | undefined | false;

/** An element with attributes and children; strings become text nodes. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** Replaces the page's content and moves focus to its first heading, so
 * that keyboard and screen-reader users land on what changed. */
export function show(...children: Child[]): void {
  const main = document.getElementById('app');
  if (!main) return;
  main.replaceChildren();
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    main.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  const heading = main.querySelector('h1, h2');
  if (heading instanceof HTMLElement) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

/** A status line that assistive technology announces when it changes. */
export function statusLine(): HTMLParagraphElement {
  return el('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
}

/** A labelled form field. */
export function field(
  label: string,
  control: HTMLInputElement | HTMLTextAreaElement,
  hint?: string,
): HTMLDivElement {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const hintNode = hint ? el('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintNode) control.setAttribute('aria-describedby', hintNode.id);
  return el('div', { class: 'field' }, el('label', { for: id }, label), control, hintNode);
}

/** A form that only the page's own `submit` handler acts on. Its method is
 * `dialog`, which outside a <dialog> makes the browser's own submission do
 * nothing: a script calling `form.submit()` (a link scanner does) skips the
 * handler, and would otherwise reload the page with the fields in its URL,
 * sent to the server. */
export function pageForm(attrs: Attrs, ...children: Child[]): HTMLFormElement {
  return el('form', { ...attrs, method: 'dialog' }, ...children);
}
