import { Component, type ReactNode } from "react";

/** A rendering bug shows a readable message instead of an empty window. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  render() {
    if (this.state.error) {
      return (
        <div className="fatal" data-testid="ui-error">
          <h1>Something went wrong drawing this page</h1>
          <pre>{String(this.state.error.stack ?? this.state.error)}</pre>
          <button onClick={() => this.setState({ error: null })}>Try again</button>
        </div>
      );
    }
    return this.props.children;
  }
}
