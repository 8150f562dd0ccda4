-- Per address of $addresses (lower-cased, distinct): placeholder and role flags (int_address_kinds).
select address, placeholder, role_account
from int_address_kinds_for(cast($addresses as varchar[]))
