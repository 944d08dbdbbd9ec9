/** Where the pages load their one stylesheet from (CSP `style-src 'self'`: no inline style anywhere). */
export const STYLESHEET_PATH = '/auth/assets/style.css';

/**
 * The stylesheet of the sign-in pages: a centred card on a quiet background, the system font,
 * inputs of 16px so phones do not zoom into them, visible focus, light and dark schemes.
 * Contrast of text and controls meets WCAG 2.2 AA in both schemes.
 */
export const STYLESHEET = `:root {
  color-scheme: light dark;
  --page: #f1f3f6;
  --card: #ffffff;
  --card-border: #dde1e7;
  --text: #1a1f29;
  --muted: #4a5261;
  --input-border: #6b7384;
  --input-bg: #ffffff;
  --accent: #1d4ed8;
  --accent-hover: #1e3fae;
  --on-accent: #ffffff;
  --focus: #1d4ed8;
  --chip: #e8ecf3;
  --error-bg: #fdf0f0;
  --error-edge: #c42b2b;
  --error-text: #8f1d1d;
  --notice-bg: #eef8f1;
  --notice-edge: #1e7d45;
  --notice-text: #17613a;
  --shadow: 0 1px 2px rgb(16 24 40 / 6%), 0 8px 24px rgb(16 24 40 / 8%);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial, sans-serif;
  line-height: 1.5;
  -webkit-text-size-adjust: 100%;
  text-size-adjust: 100%;
}

@media (prefers-color-scheme: dark) {
  :root {
    --page: #0f131a;
    --card: #181d26;
    --card-border: #2b3240;
    --text: #e9edf3;
    --muted: #a9b1bf;
    --input-border: #7c8596;
    --input-bg: #10141b;
    --accent: #8fb3ff;
    --accent-hover: #b3cbff;
    --on-accent: #0b1220;
    --focus: #8fb3ff;
    --chip: #262d3a;
    --error-bg: #3a1519;
    --error-edge: #f07178;
    --error-text: #ffc9cc;
    --notice-bg: #12301f;
    --notice-edge: #4fc47f;
    --notice-text: #bff0d2;
    --shadow: none;
  }
}

*,
*::before,
*::after {
  box-sizing: border-box;
}

[hidden] {
  display: none !important;
}

body {
  margin: 0;
  min-height: 100vh;
  padding: clamp(1rem, 10vh, 6rem) 1rem 2rem;
  background: var(--page);
  color: var(--text);
}

.card {
  width: 100%;
  max-width: 24rem;
  margin: 0 auto;
  padding: 2rem;
  background: var(--card);
  border: 1px solid var(--card-border);
  border-radius: 0.75rem;
  box-shadow: var(--shadow);
}

.brand {
  margin: 0 0 0.25rem;
  color: var(--muted);
  font-size: 0.875rem;
  font-weight: 600;
  letter-spacing: 0.02em;
  overflow-wrap: anywhere;
}

h1 {
  margin: 0 0 1.5rem;
  font-size: 1.5rem;
  line-height: 1.25;
  overflow-wrap: anywhere;
}

h2 {
  margin: 0 0 1rem;
  font-size: 1.0625rem;
  line-height: 1.3;
}

p {
  margin: 0 0 1rem;
}

section {
  margin-top: 1.75rem;
  padding-top: 1.5rem;
  border-top: 1px solid var(--card-border);
}

a {
  color: var(--accent);
  text-underline-offset: 0.15em;
}

a:hover {
  text-decoration-thickness: 2px;
}

:focus-visible {
  outline: 3px solid var(--focus);
  outline-offset: 2px;
  border-radius: 0.25rem;
}

.field {
  margin-bottom: 1.125rem;
}

label {
  display: block;
  margin-bottom: 0.375rem;
  font-weight: 600;
}

input {
  display: block;
  width: 100%;
  min-height: 2.75rem;
  padding: 0.5rem 0.75rem;
  font: inherit;
  font-size: 1rem;
  color: var(--text);
  background: var(--input-bg);
  border: 1px solid var(--input-border);
  border-radius: 0.5rem;
}

input[aria-invalid="true"] {
  border-color: var(--error-edge);
  box-shadow: inset 0 0 0 1px var(--error-edge);
}

input:focus-visible {
  outline-offset: 1px;
  border-color: var(--focus);
  border-radius: 0.5rem;
}

.help {
  margin: 0.375rem 0 0;
  color: var(--muted);
  font-size: 0.875rem;
}

button {
  display: block;
  width: 100%;
  min-height: 2.75rem;
  margin-top: 0.5rem;
  padding: 0.625rem 1rem;
  font: inherit;
  font-weight: 600;
  color: var(--on-accent);
  background: var(--accent);
  border: 1px solid var(--accent);
  border-radius: 0.5rem;
  cursor: pointer;
}

button:hover {
  background: var(--accent-hover);
  border-color: var(--accent-hover);
}

button:focus-visible {
  border-radius: 0.5rem;
}

button.secondary {
  color: var(--accent);
  background: transparent;
}

button.secondary:hover {
  background: var(--chip);
}

form + form {
  margin-top: 0.75rem;
}

.message {
  margin: 0 0 1.25rem;
  padding: 0.75rem 0.875rem;
  border-left: 4px solid;
  border-radius: 0.375rem;
  overflow-wrap: anywhere;
}

.message-error {
  color: var(--error-text);
  background: var(--error-bg);
  border-color: var(--error-edge);
}

.message-notice {
  color: var(--notice-text);
  background: var(--notice-bg);
  border-color: var(--notice-edge);
}

.aside {
  margin: 1.5rem 0 0;
  color: var(--muted);
  text-align: center;
}

.separator {
  margin: 0 0.75rem;
}

.identity {
  display: grid;
  grid-template-columns: auto 1fr;
  gap: 0.5rem 1rem;
  margin: 0;
}

.identity dt {
  color: var(--muted);
}

.identity dd {
  margin: 0;
  font-weight: 600;
  overflow-wrap: anywhere;
}

.roles {
  display: flex;
  flex-wrap: wrap;
  gap: 0.375rem;
  margin: 0;
  padding: 0;
  list-style: none;
}

.roles li {
  padding: 0 0.625rem;
  background: var(--chip);
  border-radius: 999px;
  font-size: 0.875rem;
  line-height: 1.75;
}

.none {
  color: var(--muted);
  font-weight: 400;
}

strong {
  overflow-wrap: anywhere;
}

@media (max-width: 30rem) {
  body {
    padding: 1rem 0.75rem;
  }

  .card {
    padding: 1.5rem 1.25rem;
  }
}
`;
