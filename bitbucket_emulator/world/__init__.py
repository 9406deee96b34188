"""The emulated world, independent of any API: accounts, workspaces, repositories with git-like history, pull
requests, the rules that change them (`state.World`), three-way merges (`merge`) and the state file
(`persistence`)."""
