import { Fragment, type ReactNode } from "react";

/** Just enough markdown for runbooks: headings, paragraphs, lists, bold and `code`. */
function inline(text: string): ReactNode[] {
  return text.split(/(\*\*[^*]+\*\*|`[^`]+`)/g).map((part, i) => {
    if (part.startsWith("**") && part.endsWith("**")) return <strong key={i}>{part.slice(2, -2)}</strong>;
    if (part.startsWith("`") && part.endsWith("`")) return <code key={i}>{part.slice(1, -1)}</code>;
    return <Fragment key={i}>{part}</Fragment>;
  });
}

export function Markdown({ text }: { text: string }) {
  const blocks = text.trim().split(/\n\s*\n/);
  return (
    <div className="markdown">
      {blocks.map((b, i) => {
        const lines = b.split("\n");
        if (b.startsWith("# ")) return <h3 key={i}>{inline(b.slice(2))}</h3>;
        if (lines.every((l) => /^\s*(\d+\.|[-*])\s/.test(l) || /^\s{2,}/.test(l))) {
          const items: string[] = [];
          lines.forEach((l) => (/^\s*(\d+\.|[-*])\s/.test(l) ? items.push(l.replace(/^\s*(\d+\.|[-*])\s/, "")) : (items[items.length - 1] += " " + l.trim())));
          const List = /^\s*\d+\./.test(lines[0]) ? "ol" : "ul";
          return <List key={i}>{items.map((it, j) => <li key={j}>{inline(it)}</li>)}</List>;
        }
        if (lines.length > 1 && /^\s*(\d+\.|[-*])\s/.test(lines[1])) {
          return (
            <Fragment key={i}>
              <p>{inline(lines[0])}</p>
              <ol>{lines.slice(1).map((l, j) => <li key={j}>{inline(l.replace(/^\s*(\d+\.|[-*])\s/, ""))}</li>)}</ol>
            </Fragment>
          );
        }
        return <p key={i}>{inline(lines.join(" "))}</p>;
      })}
    </div>
  );
}
