package crm

// Principal is who is asking: every store read and write takes one, and the
// store applies the role's visibility in its queries.
type Principal struct {
	UserID int64
	Role   Role
}

// System is the principal of trusted internal jobs (migrations, CLI admin
// commands run on the server's own machine, imports by an operator).
var System = Principal{Role: RoleAdmin}
