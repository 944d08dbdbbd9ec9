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

export interface SignInPageOptions {
  /** The configured title (`browser.title`). */
  readonly title: string;
  /** Where a successful sign-in leads: a path already checked as a safe return path. */
  readonly returnPath: string;
  /** The username of the attempt that failed, typed in again for the user. */
  readonly username?: string;
  /** Why the last attempt failed, shown above the form and announced. */
  readonly message?: string;
  /** Whether registration is open, so the page offers a link to the sign-up page. */
  readonly signUpAvailable: boolean;
}

/** The sign-in form, posted to /auth/sign-in with `username`, `password` and `rd`. */
export function signInPage(options: SignInPageOptions): string {
  const { title, returnPath, username, message, signUpAvailable } = options;
  // After a failed attempt the cursor waits where typing resumes, with the error read out with it.
  const retrying = username !== undefined && username !== '';
  const describedBy = message ? [ALERT_ID] : [];
  const form = postForm(
    '/auth/sign-in',
    hiddenField('rd', returnPath) +
      inputField({
        name: 'username',
        label: 'Username',
        type: 'text',
        autocomplete: 'username',
        value: username,
        autofocus: !retrying,
        describedBy: retrying ? [] : describedBy,
      }) +
      inputField({
        name: 'password',
        label: 'Password',
        type: 'password',
        autocomplete: 'current-password',
        autofocus: retrying,
        describedBy: retrying ? describedBy : [],
      }) +
      submitButton('Sign in'),
  );
  const signUp = signUpAvailable
    ? `<p class="aside">No account yet? ${link(withReturnPath('/auth/sign-up', returnPath), 'Create one')}</p>\n`
    : '';
  return renderLayout({ title, heading: 'Sign in', content: alertLine(message) + form + signUp });
}
