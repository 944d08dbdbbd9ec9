import { STYLESHEET_PATH } from './stylesheet.js';

/**
 * HTML building blocks of the sign-in pages: escaping, attributes, the shared layout and the parts
 * every form repeats. A value from a request, the config or the store reaches a page only through
 * `escapeHtml` (directly or through `attributes`).
 */

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** `value` safe as HTML text and as a quoted attribute value: & < > " ' become character references. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

/** An attribute value: `true` writes the bare name, `false` and `undefined` leave the attribute out. */
export type AttributeValue = string | number | boolean | undefined;

/** Attributes as HTML, each value escaped, each preceded by a space (`<input${attributes(…)}>`). */
export function attributes(values: Readonly<Record<string, AttributeValue>>): string {
  let html = '';
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || value === false) continue;
    html += value === true ? ` ${name}` : ` ${name}="${escapeHtml(String(value))}"`;
  }
  return html;
}

export interface LayoutOptions {
  /** The configured title (`browser.title`), shown above the heading unless it is that or the default. */
  readonly title: string;
  /** The page's own heading, its one `<h1>`. */
  readonly heading: string;
  /** What follows the heading, already HTML. */
  readonly content: string;
}

/** The default of `browser.title`: it names no site, so it is not shown above other headings. */
export const UNBRANDED_TITLE = 'Sign in';

/** The whole document around a page's content: no script, no inline style, one stylesheet. */
export function renderLayout({ title, heading, content }: LayoutOptions): string {
  const branded = title !== heading && title !== UNBRANDED_TITLE;
  const documentTitle = branded ? `${heading} · ${title}` : heading;
  const brand = branded ? `<p class="brand">${escapeHtml(title)}</p>\n` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(documentTitle)}</title>
<link rel="stylesheet"${attributes({ href: STYLESHEET_PATH })}>
</head>
<body>
<main class="card">
${brand}<h1>${escapeHtml(heading)}</h1>
${content}</main>
</body>
</html>
`;
}

/** The id of the error line, so a focused field can point at it with aria-describedby. */
export const ALERT_ID = 'page-alert';

/** An error the user must read, announced to screen readers (role="alert"); nothing without one. */
export function alertLine(message: string | undefined): string {
  if (!message) return '';
  return `<p class="message message-error" role="alert"${attributes({ id: ALERT_ID })}>${escapeHtml(message)}</p>\n`;
}

/** A success line, announced politely (role="status"); nothing without one. */
export function statusLine(notice: string | undefined): string {
  if (!notice) return '';
  return `<p class="message message-notice" role="status">${escapeHtml(notice)}</p>\n`;
}

export interface InputField {
  readonly name: string;
  readonly label: string;
  readonly type: 'text' | 'password';
  /** The autocomplete token password managers and browsers key on (`username`, `current-password`…). */
  readonly autocomplete: string;
  readonly value?: string;
  /** A help text under the input, linked to it with aria-describedby. */
  readonly help?: string;
  /** Ids of other elements that describe the input (an error line). */
  readonly describedBy?: readonly string[];
  readonly autofocus?: boolean;
  /** Marks the value as the one refused (aria-invalid). */
  readonly invalid?: boolean;
  readonly minLength?: number;
}

/** A labelled, required input; a username field is kept from capitalization and spell-checking. */
export function inputField(field: InputField): string {
  const helpId = field.help === undefined ? undefined : `${field.name}-help`;
  const describedBy = [...(field.describedBy ?? []), ...(helpId === undefined ? [] : [helpId])];
  const isUsername = field.autocomplete === 'username';
  const input = attributes({
    id: field.name,
    name: field.name,
    type: field.type,
    autocomplete: field.autocomplete,
    autocapitalize: isUsername ? 'none' : undefined,
    autocorrect: isUsername ? 'off' : undefined,
    spellcheck: isUsername ? 'false' : undefined,
    value: field.value,
    minlength: field.minLength,
    'aria-describedby': describedBy.length > 0 ? describedBy.join(' ') : undefined,
    'aria-invalid': field.invalid ? 'true' : undefined,
    required: true,
    autofocus: field.autofocus,
  });
  const help =
    helpId === undefined
      ? ''
      : `\n<p class="help"${attributes({ id: helpId })}>${escapeHtml(field.help ?? '')}</p>`;
  return `<div class="field">
<label${attributes({ for: field.name })}>${escapeHtml(field.label)}</label>
<input${input}>${help}
</div>
`;
}

/** A hidden form field. */
export function hiddenField(name: string, value: string): string {
  return `<input${attributes({ type: 'hidden', name, value })}>\n`;
}

/** A form posted to one of the sidecar's own paths. */
export function postForm(action: string, content: string, className?: string): string {
  return `<form${attributes({ method: 'post', action, class: className })}>\n${content}</form>\n`;
}

/** A submit button; `secondary` for the less common of two actions. */
export function submitButton(text: string, variant: 'primary' | 'secondary' = 'primary'): string {
  return `<button type="submit"${attributes({ class: variant === 'secondary' ? 'secondary' : undefined })}>${escapeHtml(text)}</button>\n`;
}

/** A link; `href` and text are escaped. */
export function link(href: string, text: string): string {
  return `<a${attributes({ href })}>${escapeHtml(text)}</a>`;
}

/** `path` with the return path as its `rd` query parameter. */
export function withReturnPath(path: string, returnPath: string): string {
  return `${path}?rd=${encodeURIComponent(returnPath)}`;
}
