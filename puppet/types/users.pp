# @summary runit::users: a list of logins, or a hash login => Runit::UserSpec.
#
# `runit::users`: a list of logins (each with the defaults of Runit::UserSpec), or a hash login
# => settings (`~` for the defaults).
#
# @example The original module's list, and the hash
#   ['apprun1', 'apprun2']
#   { 'alice' => { 'groups' => ['developers'] }, 'bob' => undef }
type Runit::Users = Variant[Array[Runit::Login], Hash[Runit::Login, Optional[Runit::UserSpec]]]
