"""Sources: Sonar GraphQL, file trees and database tables."""
