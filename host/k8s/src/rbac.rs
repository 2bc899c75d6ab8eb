//! What the runner asks of the Kubernetes API, as RBAC rules: the Role in
//! `deploy/kubernetes/rbac.yaml` must grant exactly these (its tests check both that the runner
//! uses nothing more and that the manifests grant nothing less or more).

/// One RBAC rule the runner needs in each namespace it runs Pods in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// The API group (`""`: the core group).
    pub api_group: &'static str,
    /// The resource, with its subresource (`pods/log`).
    pub resource: &'static str,
    /// The verbs used on it.
    pub verbs: &'static [&'static str],
}

/// Every permission the runner uses.
pub const PERMISSIONS: &[Permission] = &[
    // One Pod per call: created, adopted after a redelivery (get), watched to completion
    // (list + watch), listed at start-up for orphans, deleted once the result is stored.
    Permission {
        api_group: "",
        resource: "pods",
        verbs: &["create", "get", "list", "watch", "delete"],
    },
    // The end of the container's log, for the result's body.
    Permission {
        api_group: "",
        resource: "pods/log",
        verbs: &["get"],
    },
    // The call's in_files, mounted into its Pod.
    Permission {
        api_group: "",
        resource: "configmaps",
        verbs: &["create", "delete"],
    },
];

/// `(api group, resource, verb)` triples of [`PERMISSIONS`], for comparing with a Role.
pub fn needed() -> std::collections::BTreeSet<(String, String, String)> {
    PERMISSIONS
        .iter()
        .flat_map(|p| {
            p.verbs.iter().map(|verb| {
                (
                    p.api_group.to_owned(),
                    p.resource.to_owned(),
                    (*verb).to_owned(),
                )
            })
        })
        .collect()
}

/// `(api group, resource, verb)` triples a Role grants (`*` verbs and resources stay `*`).
pub fn granted_by(
    role: &k8s_openapi::api::rbac::v1::Role,
) -> std::collections::BTreeSet<(String, String, String)> {
    let mut granted = std::collections::BTreeSet::new();
    for rule in role.rules.iter().flatten() {
        for group in rule.api_groups.iter().flatten() {
            for resource in rule.resources.iter().flatten() {
                for verb in &rule.verbs {
                    granted.insert((group.clone(), resource.clone(), verb.clone()));
                }
            }
        }
    }
    granted
}
