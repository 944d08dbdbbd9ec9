import {
  ALERT_ID,
  alertLine,
  hiddenField,
  inputField,
  link,
  postForm,
  renderLayout,
  submitButton,
  withReturnPath,
} from './html.js';

/** What a new password must be, as the pages spell it out. */
export interface PasswordPolicyText {
  /** At least this many characters (code points). */
  readonly minLength: number;
  /** At most this many bytes of UTF-8. */
  readonly maxBytes: number;
}

/** The password policy in words, shown under every new-password field. */
export function describePasswordPolicy({ minLength, maxBytes }: PasswordPolicyText): string {
  const characters = minLength === 1 ? '1 character' : `${minLength} characters`;
  return `At least ${characters} and at most ${maxBytes} bytes; an accented letter or an emoji counts as 2 to 4 bytes.`;
}

export interface SignUpPageOptions {
  /** The configured title (`browser.title`). */
  readonly title: string;
  /** Where the new user lands once signed in: a path already checked as a safe return path. */
  readonly returnPath: string;
  /** The username of the attempt that failed, typed in again for the user. */
  readonly username?: string;
  /** Why the last attempt failed (name taken, password refused), shown above the form and announced. */
  readonly message?: string;
  /** The field the message is about, focused and marked invalid; the username when not given. */
  readonly messageField?: 'username' | 'password';
  readonly passwordPolicy: PasswordPolicyText;
}

/** The registration form, posted to /auth/sign-up with `username`, `password` and `rd`. */
export function signUpPage(options: SignUpPageOptions): string {
  const { title, returnPath, username, message, messageField = 'username', passwordPolicy } = options;
  const onPassword = Boolean(message) && messageField === 'password';
  const onUsername = Boolean(message) && !onPassword;
  const form = postForm(
    '/auth/sign-up',
    hiddenField('rd', returnPath) +
      inputField({
        name: 'username',
        label: 'Username',
        type: 'text',
        autocomplete: 'username',
        value: username,
        autofocus: !onPassword,
        invalid: onUsername,
        describedBy: onUsername ? [ALERT_ID] : [],
      }) +
      inputField({
        name: 'password',
        label: 'Password',
        type: 'password',
        autocomplete: 'new-password',
        minLength: passwordPolicy.minLength,
        help: describePasswordPolicy(passwordPolicy),
        autofocus: onPassword,
        invalid: onPassword,
        describedBy: onPassword ? [ALERT_ID] : [],
      }) +
      submitButton('Create account'),
  );
  const signIn = `<p class="aside">Already have an account? ${link(withReturnPath('/auth/sign-in', returnPath), 'Sign in')}</p>\n`;
  return renderLayout({ title, heading: 'Create an account', content: alertLine(message) + form + signIn });
}
