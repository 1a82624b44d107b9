"""Publication: analyst snapshot, statistical secrecy, partner exports, CKAN. Built in issues 5–7."""
