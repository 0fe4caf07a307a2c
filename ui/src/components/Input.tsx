import type { InputHTMLAttributes, TextareaHTMLAttributes } from "react";

// Paths, URLs, names and passwords: the webview's remembered suggestions only get in the way
// (their popup can take the next click), and a spell checker underlines every path.

/** A text field without browser suggestions or spell checking. */
export function Input(props: InputHTMLAttributes<HTMLInputElement>) {
  return <input autoComplete="off" autoCorrect="off" autoCapitalize="off" spellCheck={false} {...props} />;
}

/** A multi-line field without browser suggestions or spell checking. */
export function TextArea(props: TextareaHTMLAttributes<HTMLTextAreaElement>) {
  return <textarea autoComplete="off" autoCorrect="off" autoCapitalize="off" spellCheck={false} {...props} />;
}
