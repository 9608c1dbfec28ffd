"""The convert stage: another tool's GKD config (Oumi, TRL) -> a commented gkd config.

Takes the source file, gives gkd YAML text plus the source keys it could not carry over
and why. Imports `models`, `config` (the YAML loader, validation) and `artifacts` (the
modeline and scalar writer) only; never torch, transformers or TRL, whose formats it
knows from their published field names.
"""
