import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { AnalysisConfig } from "../bindings/AnalysisConfig";
import { setPlatform } from "../platform";
import { engineError, TypedFakePlatform } from "../testing/fakePlatform";
import { InsightsSettings } from "./InsightsSettings";

afterEach(cleanup);

const cfg: AnalysisConfig = {
  enabled: true, cadence_minutes: 60, endpoint: "http://127.0.0.1:11434/v1", model: "llama3.2", prompt_template: "", prompt_user_modified: false,
  max_log_lines: 500, min_level: "warn", request_timeout_secs: 120,
};

describe("Settings → Insights", () => {
  it("saves how much of the log a scan reads, and names a refused field", async () => {
    let current = cfg;
    const p = new TypedFakePlatform({
      analysis_config: () => current,
      set_analysis_reading: ({ maxLogLines, minLevel, requestTimeoutSecs }) => {
        if (maxLogLines > 100_000) throw engineError("invalid_config", "analysis.max_log_lines: must be between 10 and 100000", ["analysis.max_log_lines"]);
        current = { ...current, max_log_lines: maxLogLines, min_level: minLevel, request_timeout_secs: requestTimeoutSecs };
        return current;
      },
    });
    setPlatform(p);
    render(<InsightsSettings />);
    expect((await screen.findByTestId("section-analysis")).textContent).toContain("llama3.2 at http://127.0.0.1:11434/v1 reads the log every 60 min");
    fireEvent.change(screen.getByTestId("analysis-max_log_lines"), { target: { value: "2000" } });
    fireEvent.change(screen.getByTestId("analysis-min_level"), { target: { value: "info" } });
    fireEvent.click(screen.getByTestId("analysis-save"));
    await screen.findByText("Saved and applied.");
    expect(p.calls.find((c) => c.cmd === "set_analysis_reading")?.req).toEqual({ maxLogLines: 2000, minLevel: "info", requestTimeoutSecs: 120 });

    fireEvent.change(screen.getByTestId("analysis-max_log_lines"), { target: { value: "900000" } });
    fireEvent.click(screen.getByTestId("analysis-save"));
    await waitFor(() => expect(screen.getByTestId("analysis-max_log_lines").closest("label")?.className).toBe("invalid"));
    expect(current.max_log_lines).toBe(2000);
  });
});
