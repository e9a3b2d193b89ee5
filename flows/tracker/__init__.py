"""Live task sources: first tasks read from a project's tracker (Phabricator/Phorge, GitHub,
GitLab), cached in the store, checked at hand-off; static [[tasks]] stay as the fallback."""
