use std::fmt;
use std::str::FromStr;

/// What a staff member may do. Every staff route checks it on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Staff accounts and settings, and everything an agent does.
    Admin,
    /// Works requests.
    Agent,
    /// Reads everything, changes nothing, exports the register.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Agent, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
            Role::Auditor => "auditor",
        }
    }

    /// Whether this role may change a request (assign, approve, deny, extend, retry…).
    pub fn can_act(self) -> bool {
        matches!(self, Role::Admin | Role::Agent)
    }
}

impl FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_only_auditors_are_read_only() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
        assert!(Role::Admin.can_act() && Role::Agent.can_act() && !Role::Auditor.can_act());
    }
}
