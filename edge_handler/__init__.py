"""The Lambda@Edge router: sends every CloudFront cache miss to a healthy region."""
