"""Pure math and process plumbing every other part builds on: n-step and lambda returns (``returns``), the losses
(``losses``), the papers' RMSProp variants (``optim``), one gradient step (``update``), the networks (``networks``),
precision (``precision``), host/device transfer (``transfer``), user-facing errors (``errors``) and the process-wide
speed settings (``runtime``). Units are stated in every docstring; the math is tested by hand values.

May import: nothing else of ``replication`` (only torch, numpy and the standard library)."""
