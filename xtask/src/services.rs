//! What nubo serves: each service's model, and the operations it implements.
//!
//! Adding an operation starts here: list it, run `cargo xtask codegen`, then implement the
//! new method of the service's generated trait.

pub struct ServiceSpec {
    /// nubo's name of the service: module, model file and `/_nubo/health` key.
    pub name: &'static str,
    /// The directory of the model under botocore's `data/`.
    pub botocore: &'static str,
    /// Name of the generated trait the service implements.
    pub trait_name: &'static str,
    pub operations: &'static [&'static str],
}

pub const SERVICES: &[ServiceSpec] = &[
    ServiceSpec {
        name: "sts",
        botocore: "sts",
        trait_name: "Sts",
        operations: &["GetCallerIdentity", "AssumeRole", "GetSessionToken", "GetAccessKeyInfo"],
    },
    ServiceSpec {
        name: "iam",
        botocore: "iam",
        trait_name: "Iam",
        operations: &[
            "CreateUser", "GetUser", "ListUsers", "UpdateUser", "DeleteUser", "TagUser", "UntagUser",
            "ListUserTags", "CreateGroup", "GetGroup", "ListGroups", "UpdateGroup", "DeleteGroup",
            "AddUserToGroup", "RemoveUserFromGroup", "ListGroupsForUser", "CreateRole", "GetRole",
            "ListRoles", "UpdateRole", "UpdateRoleDescription", "UpdateAssumeRolePolicy", "DeleteRole",
            "TagRole", "UntagRole", "ListRoleTags", "CreateInstanceProfile", "GetInstanceProfile",
            "ListInstanceProfiles", "DeleteInstanceProfile", "AddRoleToInstanceProfile",
            "RemoveRoleFromInstanceProfile", "ListInstanceProfilesForRole", "TagInstanceProfile",
            "UntagInstanceProfile", "ListInstanceProfileTags", "CreatePolicy", "GetPolicy", "ListPolicies",
            "DeletePolicy", "CreatePolicyVersion", "GetPolicyVersion", "ListPolicyVersions",
            "DeletePolicyVersion", "SetDefaultPolicyVersion", "TagPolicy", "UntagPolicy", "ListPolicyTags",
            "ListEntitiesForPolicy", "AttachUserPolicy", "DetachUserPolicy", "ListAttachedUserPolicies",
            "AttachGroupPolicy", "DetachGroupPolicy", "ListAttachedGroupPolicies", "AttachRolePolicy",
            "DetachRolePolicy", "ListAttachedRolePolicies", "PutUserPolicy", "GetUserPolicy",
            "DeleteUserPolicy", "ListUserPolicies", "PutGroupPolicy", "GetGroupPolicy", "DeleteGroupPolicy",
            "ListGroupPolicies", "PutRolePolicy", "GetRolePolicy", "DeleteRolePolicy", "ListRolePolicies",
            "CreateAccessKey", "ListAccessKeys", "UpdateAccessKey", "DeleteAccessKey",
            "GetAccessKeyLastUsed", "CreateLoginProfile", "GetLoginProfile", "UpdateLoginProfile",
            "DeleteLoginProfile", "ChangePassword", "UpdateAccountPasswordPolicy",
            "GetAccountPasswordPolicy", "DeleteAccountPasswordPolicy", "CreateVirtualMFADevice",
            "EnableMFADevice", "ResyncMFADevice", "ListMFADevices", "ListVirtualMFADevices",
            "DeactivateMFADevice", "DeleteVirtualMFADevice", "CreateAccountAlias", "ListAccountAliases",
            "DeleteAccountAlias", "GenerateCredentialReport", "GetCredentialReport",
            "GenerateServiceLastAccessedDetails", "GetServiceLastAccessedDetails",
            "GetAccountAuthorizationDetails", "GetAccountSummary", "SimulatePrincipalPolicy",
            "SimulateCustomPolicy",
        ],
    },
    ServiceSpec {
        name: "sqs",
        botocore: "sqs",
        trait_name: "Sqs",
        operations: &[
            "CreateQueue", "GetQueueUrl", "ListQueues", "DeleteQueue", "PurgeQueue",
            "GetQueueAttributes", "SetQueueAttributes", "TagQueue", "UntagQueue", "ListQueueTags",
            "SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
            "ChangeMessageVisibility", "ChangeMessageVisibilityBatch", "ListDeadLetterSourceQueues",
            "StartMessageMoveTask", "ListMessageMoveTasks", "CancelMessageMoveTask",
        ],
    },
    ServiceSpec {
        name: "s3",
        botocore: "s3",
        trait_name: "S3",
        operations: &[
            "CreateBucket", "HeadBucket", "ListBuckets", "DeleteBucket", "GetBucketLocation",
            "PutObject", "GetObject", "HeadObject", "DeleteObject", "DeleteObjects", "CopyObject",
            "ListObjects", "ListObjectsV2",
            "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload",
            "AbortMultipartUpload", "ListParts", "ListMultipartUploads",
            "PutObjectTagging", "GetObjectTagging", "DeleteObjectTagging",
            "PutBucketTagging", "GetBucketTagging", "DeleteBucketTagging",
            "PutBucketVersioning", "GetBucketVersioning", "ListObjectVersions",
            "PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy", "GetBucketPolicyStatus",
            "PutBucketCors", "GetBucketCors", "DeleteBucketCors",
            "PutBucketEncryption", "GetBucketEncryption", "DeleteBucketEncryption",
            "PutBucketAcl", "GetBucketAcl", "PutObjectAcl", "GetObjectAcl",
            "PutBucketLifecycleConfiguration", "GetBucketLifecycleConfiguration", "DeleteBucketLifecycle",
            "PutBucketWebsite", "GetBucketWebsite", "DeleteBucketWebsite",
            "PutBucketNotificationConfiguration", "GetBucketNotificationConfiguration",
            "PutPublicAccessBlock", "GetPublicAccessBlock", "DeletePublicAccessBlock",
            "PutBucketOwnershipControls", "GetBucketOwnershipControls", "DeleteBucketOwnershipControls",
            "GetBucketAccelerateConfiguration", "GetBucketRequestPayment", "GetBucketLogging",
            "GetBucketReplication", "GetObjectLockConfiguration",
        ],
    },
    ServiceSpec { name: "lambda", botocore: "lambda", trait_name: "Lambda", operations: &["ListFunctions"] },
    ServiceSpec { name: "cloudwatch", botocore: "cloudwatch", trait_name: "CloudWatch", operations: &["ListMetrics"] },
    // Known to the router (their requests get `NotImplemented`), implemented by later issues.
        ServiceSpec {
        name: "sns",
        botocore: "sns",
        trait_name: "Sns",
        operations: &[
            "CreateTopic", "DeleteTopic", "ListTopics", "GetTopicAttributes", "SetTopicAttributes",
            "Subscribe", "Unsubscribe", "ConfirmSubscription", "ListSubscriptions", "ListSubscriptionsByTopic",
            "GetSubscriptionAttributes", "SetSubscriptionAttributes", "Publish", "PublishBatch",
            "TagResource", "UntagResource", "ListTagsForResource",
        ],
    },
    ServiceSpec { name: "logs", botocore: "logs", trait_name: "Logs", operations: &[] },
    ServiceSpec { name: "dynamodb", botocore: "dynamodb", trait_name: "DynamoDb", operations: &[] },
    ServiceSpec { name: "dynamodbstreams", botocore: "dynamodbstreams", trait_name: "DynamoDbStreams", operations: &[] },
    ServiceSpec { name: "ec2", botocore: "ec2", trait_name: "Ec2", operations: &[] },
    ServiceSpec { name: "autoscaling", botocore: "autoscaling", trait_name: "AutoScaling", operations: &[] },
    ServiceSpec { name: "elbv2", botocore: "elbv2", trait_name: "ElasticLoadBalancingV2", operations: &[] },
    ServiceSpec { name: "acm", botocore: "acm", trait_name: "Acm", operations: &[] },
];
