-- Quarantine excerpts are free text: an erasure drops every row whose excerpt mentions the address.
delete from _quarantine
where strpos(lower(coalesce(excerpt, '')), $address) > 0
