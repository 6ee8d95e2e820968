"""`gradverify check-engine`: someone else's micrograd-style engine, loaded in a child process, its API
detected, each op probed, random expressions checked, and engine-level faults looked for."""
