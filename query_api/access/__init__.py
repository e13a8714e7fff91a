"""Access control: bearer tokens from an auth file, scopes, and one store per tenant."""
