"""The JSON API for city platforms and mobile clients: public notices, and with a personal access
token what the token's owner may read and record, under the same predicates as the pages."""
