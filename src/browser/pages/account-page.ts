import {
  ALERT_ID,
  alertLine,
  attributes,
  escapeHtml,
  hiddenField,
  inputField,
  link,
  postForm,
  renderLayout,
  statusLine,
  submitButton,
} from './html.js';
import { describePasswordPolicy, type PasswordPolicyText } from './sign-up-page.js';

export interface AccountPageOptions {
  /** The configured title (`browser.title`). */
  readonly title: string;
  readonly username: string;
  readonly roles: readonly string[];
  /** Why the password change failed, announced (role="alert") above the change-password form. */
  readonly message?: string;
  /** The field the message is about, focused and marked invalid; the current password when not given. */
  readonly messageField?: 'currentPassword' | 'newPassword';
  /** What just succeeded (the password changed), announced politely (role="status"). */
  readonly notice?: string;
  /** When given, spelled out under the new-password field. */
  readonly passwordPolicy?: PasswordPolicyText;
}

/** Who is signed in, a change-password form, and the two ways to sign out. */
export function accountPage(options: AccountPageOptions): string {
  const {
    title,
    username,
    roles,
    message,
    messageField = 'currentPassword',
    notice,
    passwordPolicy,
  } = options;
  const onNew = Boolean(message) && messageField === 'newPassword';
  const onCurrent = Boolean(message) && !onNew;
  const roleList =
    roles.length === 0
      ? '<span class="none">No roles</span>'
      : `<ul class="roles">${roles.map((role) => `<li>${escapeHtml(role)}</li>`).join('')}</ul>`;
  const identity = `<dl class="identity">
<dt>Username</dt>
<dd>${escapeHtml(username)}</dd>
<dt>Roles</dt>
<dd>${roleList}</dd>
</dl>
`;
  // A password manager files the new password under the account named by this field.
  const usernameForManagers = `<input${attributes({
    type: 'text',
    name: 'username',
    autocomplete: 'username',
    value: username,
    readonly: true,
    hidden: true,
  })}>\n`;
  const changePassword = postForm(
    '/auth/account/password',
    usernameForManagers +
      inputField({
        name: 'currentPassword',
        label: 'Current password',
        type: 'password',
        autocomplete: 'current-password',
        autofocus: onCurrent,
        invalid: onCurrent,
        describedBy: onCurrent ? [ALERT_ID] : [],
      }) +
      inputField({
        name: 'newPassword',
        label: 'New password',
        type: 'password',
        autocomplete: 'new-password',
        minLength: passwordPolicy?.minLength,
        help: passwordPolicy === undefined ? undefined : describePasswordPolicy(passwordPolicy),
        autofocus: onNew,
        invalid: onNew,
        describedBy: onNew ? [ALERT_ID] : [],
      }) +
      submitButton('Change password'),
  );
  const signOut =
    postForm('/auth/sign-out', submitButton('Sign out')) +
    postForm(
      '/auth/sign-out',
      hiddenField('everywhere', '1') + submitButton('Sign out everywhere', 'secondary'),
    ) +
    '<p class="help">Sign out everywhere ends every session of this account, on every device.</p>\n';
  const content =
    statusLine(notice) +
    identity +
    section('change-password', 'Change password', alertLine(message) + changePassword) +
    section('sign-out', 'Sign out', signOut) +
    `<p class="aside">${link('/', 'Back to the application')}</p>\n`;
  return renderLayout({ title, heading: 'Your account', content });
}

function section(id: string, heading: string, content: string): string {
  return `<section${attributes({ 'aria-labelledby': id })}>
<h2${attributes({ id })}>${escapeHtml(heading)}</h2>
${content}</section>
`;
}
