#!/bin/sh
# Run by the minio-init service of deploy/docker-compose.yml (image: MinIO mc).
# Creates the media bucket and a MinIO user whose policy allows only what
# quichat-server needs on that bucket. Every step is idempotent, so it runs
# again harmlessly on each `docker compose up`.
set -eu

: "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}"
: "${MEDIA_ACCESS_KEY_ID:?}" "${MEDIA_SECRET_ACCESS_KEY:?}"
bucket="${MEDIA_BUCKET:-quichat-media}"
endpoint="${MINIO_ENDPOINT:-http://minio:9000}"
policy_name="quichat-media-rw"

if [ "$MEDIA_ACCESS_KEY_ID" = "$MINIO_ROOT_USER" ]; then
  echo "minio-init: MEDIA_ACCESS_KEY_ID must differ from MINIO_ROOT_USER" >&2
  exit 1
fi

mc alias set local "$endpoint" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing "local/$bucket"

# Same statements as deploy/s3-media-policy.json (there for AWS and manual setups).
policy_file="$(mktemp)"
cat > "$policy_file" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:ListBucket"],
      "Resource": ["arn:aws:s3:::$bucket"]
    },
    {
      "Effect": "Allow",
      "Action": [
        "s3:PutObject",
        "s3:GetObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts"
      ],
      "Resource": ["arn:aws:s3:::$bucket/*"]
    }
  ]
}
JSON
mc admin policy create local "$policy_name" "$policy_file" >/dev/null
rm -f "$policy_file"

# Creates the user, or updates its secret if it exists.
mc admin user add local "$MEDIA_ACCESS_KEY_ID" "$MEDIA_SECRET_ACCESS_KEY" >/dev/null
if ! out="$(mc admin policy attach local "$policy_name" --user "$MEDIA_ACCESS_KEY_ID" 2>&1)"; then
  case "$out" in
    *"already in effect"*) ;;  # attached on an earlier run
    *) printf '%s\n' "$out" >&2; exit 1 ;;
  esac
fi

echo "minio-init: bucket '$bucket' ready; user '$MEDIA_ACCESS_KEY_ID' has policy '$policy_name'"
