"""Operating the machine: `crucible doctor` (is it ready?) and `crucible smoke` (does a pod work?)."""
