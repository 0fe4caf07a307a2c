import { configure } from "@testing-library/react";

// `findBy…` and `waitFor` return as soon as what they wait for is there; this is only how long
// they wait before calling it missing. A whole page rendering on a loaded two-core machine can
// take more than the library's default second, and a test must not fail on the machine's load.
configure({ asyncUtilTimeout: 15000 });
