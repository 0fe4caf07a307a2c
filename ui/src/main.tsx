import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { ErrorBoundary } from "./components/ErrorBoundary";
import "./styles.css";

function showFatal(message: string) {
  const pre = document.createElement("pre");
  pre.className = "fatal";
  pre.textContent = `Caretaker's window failed to start:\n${message}`;
  document.body.appendChild(pre);
}
window.addEventListener("error", (e) => showFatal(String(e.error?.stack ?? e.message)));
window.addEventListener("unhandledrejection", (e) => showFatal(String(e.reason?.stack ?? e.reason)));

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <ErrorBoundary>
        <App />
      </ErrorBoundary>
    </StrictMode>,
  );
} else {
  showFatal("no #root element in index.html");
}
