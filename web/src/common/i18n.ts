// The page's texts, in the language the server chose (the `lang` cookie,
// else Accept-Language): it injects that one catalogue into the page as
// <script type="application/json" id="texts"> (i18n/<tag>.json, only the
// keys this kind of page uses), so a page carries one language and no
// lookup ever waits for the network. Adding a language is adding a file
// there; nothing here names one.

interface Injected {
  lang: string;
  /** [tag, the language's own name], for the switcher. */
  languages: [string, string][];
  texts: Record<string, string>;
}

let data: Injected | null = null;

function read(): Injected {
  if (data) return data;
  let parsed: Partial<Injected> = {};
  try {
    parsed = JSON.parse(document.getElementById('texts')?.textContent ?? '{}') as Partial<Injected>;
  } catch {
    // A broken catalogue shows keys, not a blank page.
  }
  data = {
    lang: parsed.lang || document.documentElement.lang || 'en',
    languages: parsed.languages ?? [],
    texts: parsed.texts ?? {},
  };
  return data;
}

type Params = Record<string, string | number>;

/** The page's language tag ("en", "de"). */
export function lang(): string {
  return read().lang;
}

/** Whether the catalogue has `key` (for texts picked by a code). */
export function has(key: string): boolean {
  return key in read().texts;
}

/** The text of `key` with its {name} placeholders filled; a missing key shows as [key]. */
export function t(key: string, params: Params = {}): string {
  const text = read().texts[key];
  if (text === undefined) return `[${key}]`;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
}

/** A count in words: `key.one`, `key.other`, … by the language's plural rules
 * (a translator adds `key.few` where the language has it). */
export function tn(key: string, count: number, params: Params = {}): string {
  const form = new Intl.PluralRules(lang()).select(count);
  const all = { count, ...params };
  return has(`${key}.${form}`) ? t(`${key}.${form}`, all) : t(`${key}.other`, all);
}

/** A text with nodes (a link, say) in place of its placeholders, for el()'s children. */
export function tNodes(key: string, nodes: Record<string, Node>): (Node | string)[] {
  return t(key)
    .split(/(\{\w+\})/)
    .map((part) => nodes[part.slice(1, -1)] ?? part)
    .filter((part) => part !== '');
}

/** A point in time for people: in the page's language, the reader's time zone. */
export function when(ms: number): string {
  return new Intl.DateTimeFormat(lang(), { dateStyle: 'medium', timeStyle: 'short' }).format(ms);
}

/** Remembers `tag` for a year (the server reads the cookie on every page). */
export function chooseLanguage(tag: string): void {
  document.cookie = `lang=${encodeURIComponent(tag)}; Path=/; Max-Age=31536000; SameSite=Lax`;
}

/**
 * The languages, as links in the page's footer, each written in its own
 * language (a reader who cannot read this one still finds his). Links, not
 * a <select>: a keyboard user moving through a select would switch at the
 * first arrow key. Each points at this same page (a plain link without the
 * cookie shows it again, nothing worse); a click sets the cookie and
 * `switchTo` applies the choice, by default by reloading.
 */
export function languageFooter(switchTo: (tag: string) => void = () => location.reload()): HTMLElement {
  const { languages } = read();
  const here = lang();
  const list = document.createElement('ul');
  for (const [tag, name] of languages) {
    const item = document.createElement(tag === here ? 'span' : 'a');
    item.textContent = name;
    item.lang = tag;
    if (tag === here) item.setAttribute('aria-current', 'true');
    else {
      const link = item as HTMLAnchorElement;
      link.href = location.pathname;
      link.hreflang = tag;
      link.addEventListener('click', (event) => {
        event.preventDefault();
        chooseLanguage(tag);
        switchTo(tag);
      });
    }
    const li = document.createElement('li');
    li.append(item);
    list.append(li);
  }
  const nav = document.createElement('nav');
  nav.setAttribute('aria-label', t('common.language'));
  nav.append(list);
  const footer = document.createElement('footer');
  footer.className = 'languages';
  footer.id = 'languages';
  footer.append(nav);
  return footer;
}

/** Puts the language footer after the page's <main>, replacing an older one. */
export function showLanguages(switchTo?: (tag: string) => void): void {
  const footer = languageFooter(switchTo);
  const old = document.getElementById('languages');
  if (old) old.replaceWith(footer);
  else document.body.append(footer);
}

/**
 * Takes another language's texts without a reload (the member's pages: a
 * reload would end the worker and lock the key). The page's own address,
 * fetched again, carries them: the server picks by the cookie just set.
 */
export async function reloadTexts(): Promise<void> {
  const response = await fetch(location.pathname, { credentials: 'same-origin', cache: 'no-store' });
  const html = new DOMParser().parseFromString(await response.text(), 'text/html');
  const fresh = html.getElementById('texts');
  if (!fresh?.textContent) throw new Error('no texts in the page');
  const old = document.getElementById('texts');
  const copy = document.createElement('script');
  copy.type = 'application/json';
  copy.id = 'texts';
  copy.textContent = fresh.textContent;
  if (old) old.replaceWith(copy);
  else document.head.append(copy);
  data = null;
  document.documentElement.lang = read().lang;
}
